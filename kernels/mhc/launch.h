/** \file
 * Internal: compiling the mHC kernels once per configuration and launching them. A small
 * thread-safe map (key: kernel name + parameters + device arch) in front of the runtime's
 * compile cache; the first call of a configuration traces, lowers, emits and compiles, later
 * calls only launch (no device allocation, no synchronisation).
 *
 * Compilation and launching go through the codegen facade (tessera::Runtime, CompiledKernel),
 * for the cuda target (device memory) or the cpu target (host memory, LLVM backend).
 */
#pragma once

#include "ir/ir.h"
#include "runtime/tensor.h"

#include <cuda.h>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>

namespace tessera::mhc::internal {

/** A compiled mHC kernel, ready to launch. */
class CompiledKernel;

/** Where and how a launch runs. */
struct LaunchEnv {
  CUstream stream = nullptr;
  int device = 0;
  /** Launch with programmatic dependent launch (the kernel waits for its predecessor itself). */
  bool pdl = true;
  /** Host memory: run on the CPU backend (synchronously) instead of the GPU. */
  bool cpu = false;
};

/** The compiled kernel for `key` on `env` (device, or the CPU), built with `build` and compiled
 * on first use. */
std::shared_ptr<const CompiledKernel> get_kernel(const std::string& key, const LaunchEnv& env,
                                                 const std::function<ir::Kernel()>& build);

/** Launches `kernel` with tensor arguments in parameter order; the dynamic dims are bound from
 * the tensors' shapes and the grid evaluated from them. */
void launch(const CompiledKernel& kernel, const LaunchEnv& env,
            std::initializer_list<TensorView> args);

/** The generated CUDA source of a kernel (for `tessera emit`), without a GPU. */
std::string cuda_source(const ir::Kernel& kernel);

/** Whether PDL launches are used on `device` (sm_90+), cached. */
bool pdl_supported(int device);

} // namespace tessera::mhc::internal
