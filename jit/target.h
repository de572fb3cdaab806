/** \file
 * Where a DSL kernel runs: on a CUDA GPU (NVRTC + driver) or on the host CPU (the LLVM ORC
 * backend, codegen/llvm). Target::automatic picks CUDA when a GPU is present and the CPU
 * otherwise, so one program runs everywhere:
 *
 * \code
 *   tessera::Target t = tessera::resolve_target(tessera::Target::automatic);
 *   auto k = tessera::Runtime::compile(kernel, t);
 *   k.launch(nullptr, TensorView(x, DType::f32, {n}, tessera::memory_kind(t)), ...);
 * \endcode
 *
 * The CPU backend is optional at build time (TESSERA_ENABLE_LLVM); cpu_backend_built() says
 * whether this build has it.
 */
#pragma once

#include "runtime/tensor.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace tessera {

/** A compilation and launch target. */
enum class Target : std::uint8_t {
  automatic, ///< CUDA when a GPU is present, else the CPU (see resolve_target)
  cuda,      ///< a CUDA GPU: device TensorViews (MemoryKind::cuda)
  cpu,       ///< the host CPU through LLVM: host TensorViews (MemoryKind::host)
};

/** "auto", "cuda" or "cpu". */
const char* target_name(Target target);

/** Parses "auto", "cuda" or "cpu"; throws UserError naming `what` and the accepted values. */
Target parse_target(std::string_view text, std::string_view what = "target");

/** True when this build contains the LLVM CPU backend (TESSERA_ENABLE_LLVM). */
bool cpu_backend_built();

/** True when the CUDA driver loads and reports at least one device. Never throws. */
bool cuda_device_present();

/**
 * The concrete target for `requested`. automatic: cuda when cuda_device_present(), else cpu when
 * cpu_backend_built(), else a UserError naming both reasons. cpu without the backend: UserError
 * "built without the LLVM CPU backend". cuda is returned as is (compiling for an explicit arch
 * needs no GPU; launching does).
 */
Target resolve_target(Target requested);

/** The memory kind a target's launches take: host for cpu, cuda otherwise. */
MemoryKind memory_kind(Target target);

} // namespace tessera
