/** \file
 * The CUDA printer: thread-level IR (after codegen/lower.h) → readable CUDA C++, one extern "C"
 * __global__ function (Halide's CodeGen_C pattern: every decision was taken by the passes; this
 * only spells the nodes). DSL names are kept, statements carry their DSL source line, the block
 * a tile op lowered to is introduced by a comment saying what it was, and the output is
 * byte-for-byte deterministic (it is part of the compile cache key).
 */
#pragma once

#include "ir/ir.h"
#include "runtime/compiler.h"

#include <string>
#include <vector>

namespace tessera::codegen {

/** The CUDA source of a lowered kernel. Throws InternalError for IR that is not thread-level
 *  (a tile op, parallel loop or fragment left). */
std::string print_cuda(const ir::Kernel& lowered);

/** The CUDA spelling of an element type ("float", "__nv_bfloat16", ...). */
std::string cuda_type(DType t);

/** The device prelude as in-memory NVRTC headers ("tessera_prelude.cuh", "tessera_mma.cuh"). */
const std::vector<HeaderSource>& prelude_headers();

} // namespace tessera::codegen
