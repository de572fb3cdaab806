/** \file
 * The CUDA emitter: LoweredKernel → readable CUDA C++ (one extern "C" __global__ function).
 * DSL names are kept, every DSL statement is annotated with its source line, and the output is
 * byte-for-byte deterministic (it is part of the compile cache key).
 */
#pragma once

#include "codegen/lowered.h"
#include "runtime/compiler.h"

#include <string>
#include <vector>

namespace tessera::codegen {

/** The CUDA source of the kernel. Throws UserError for constructs the backend cannot emit. */
std::string emit_cuda(const LoweredKernel& kernel);

/** The CUDA spelling of an element type ("float", "__nv_bfloat16", ...). */
std::string cuda_type(DType t);

/** The device prelude as in-memory NVRTC headers ("tessera_prelude.cuh", "tessera_mma.cuh"). */
const std::vector<HeaderSource>& prelude_headers();

} // namespace tessera::codegen
