/** \file
 * The built-in kernel catalogue: every registered DSL kernel (examples and mHC) and its text
 * forms — the generated CUDA, the traced tile IR, the IR after one or every lowering pass, an
 * mHC op's plan with all its kernels. One implementation for the two front ends that print
 * them: the CLI (`tessera list`, `tessera emit`, `tessera compile KERNEL`) and the C ABI
 * (capi/tessera_c.h, so Python's tessera.emit / tessera.ir / tessera.compile).
 */
#pragma once

#include "jit/compiled_kernel.h"
#include "jit/kernel_registry.h"
#include "jit/target.h"

#include <string>
#include <vector>

namespace tessera::catalog {

/** The process-wide registry with the example and mHC kernels registered (once). */
KernelRegistry& kernels();

/** What kernel_text prints. */
struct TextRequest {
  /** A registered kernel, or an mHC op name ("mhc_pre"): then the op's plan, and every kernel
   * the op may launch, one after the other. */
  std::string name;
  /** "key=value" overrides of the kernel's parameter defaults. */
  std::vector<std::string> params;
  /** "cuda" (the generated CUDA), "ir" (the traced tile IR), "passes" (the IR after every
   * lowering pass) or the name of one pass (the IR after it). */
  std::string form = "cuda";
  /** What the passes lower for (forms "passes" and a pass name). */
  Target target = Target::cuda;
  /** With form "cuda": also compile for this arch and append a resource line. */
  std::string arch;
};

/** The text `request` asks for. UserError for an unknown kernel, parameter, pass or form. */
std::string kernel_text(const TextRequest& request);

/** A registered kernel compiled with NVRTC for `arch` (no GPU needed). */
CompiledKernel compile_kernel(const std::string& name, const std::vector<std::string>& params,
                              const std::string& arch);

} // namespace tessera::catalog
