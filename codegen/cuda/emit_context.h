/** \file
 * What the CUDA emitter hands to lowerings that live outside it (the tensor-core gemm lowering
 * in codegen/cuda/gemm_lowering.{h,cpp}, owned by the gemm work): the lowered kernel (layouts,
 * shared-memory offsets), the participating threads at the statement being emitted, and
 * helpers to name buffers, print expressions and indent.
 *
 * Contract for a lowering called with an EmitContext:
 *  * return complete CUDA statements, each line starting with `ctx.pad()` and ending in '\n';
 *  * refer to buffers only through `ctx.buffer_ref()` (register arrays are named after the DSL
 *    buffer, shared buffers are typed pointers into the kernel's dynamic shared memory);
 *  * a fragment's register `r` is `ctx.buffer_ref(b) + "[" + r + "]"`, where the register
 *    numbering is the buffer's Layout (codegen/layout.h); fragments written by a gemm get a
 *    LayoutKind::mapped layout whose FragmentMap the gemm lowering supplies
 *    (gemm_accumulator_layout below);
 *  * synchronise the participating threads with `ctx.sync()`, never a bare __syncthreads()
 *    (inside a thread range that would deadlock);
 *  * device helpers go into codegen/cuda/prelude/tessera_mma.cuh, which the prelude includes.
 */
#pragma once

#include "codegen/lowered.h"
#include "ir/ir.h"

#include <functional>
#include <string>

namespace tessera::codegen {

/** The emitter's state at one statement, as seen by an external lowering. */
struct EmitContext {
  const LoweredKernel* lowered = nullptr;
  /** Participating threads P (the block, or the enclosing thread range). */
  int threads = 1;
  /** First participating thread (thread range begin, else 0). */
  int begin = 0;
  /** C++ int expression of the thread index within the participating threads (t'). */
  std::string tid = "tid";
  /** Indentation level (2 spaces each). */
  int indent = 1;
  /** Prints an IR expression as CUDA (loads from any buffer included). */
  std::function<std::string(const ir::Expr&)> expr;
  /** The C++ name of a buffer's storage: a register array, a local, a typed shared-memory
   *  pointer or a kernel parameter. */
  std::function<std::string(const ir::Buffer&)> buffer_ref;

  const Layout& layout(const ir::Buffer& b) const { return lowered->layout(b); }
  std::string pad() const { return std::string(static_cast<std::size_t>(indent) * 2, ' '); }
  /** A barrier over the participating threads (__syncthreads() or a named bar.sync). */
  std::string sync() const;
};

} // namespace tessera::codegen
