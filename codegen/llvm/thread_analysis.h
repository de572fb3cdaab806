/** \file
 * Internal: which parts of a block-level kernel depend on the identity of the thread running
 * them, for the CPU backend, which runs a block as one host thread (docs/cpu-backend.md,
 * "Thread semantics"). Pure IR analysis, no LLVM.
 */
#pragma once

#include "ir/ir.h"

#include <set>

namespace tessera::codegen::cpu_internal {

/** The facts the CPU lowering needs about a kernel's use of threads. */
class ThreadAnalysis {
public:
  explicit ThreadAnalysis(const ir::Kernel& kernel);

  /** A local buffer whose contents differ between threads (kept per thread on the CPU). */
  bool varying_local(const ir::BufferNode* b) const { return varying_locals_.count(b) != 0; }
  /** The expression depends on the thread: thread_idx, a warp op, or a varying local. */
  bool varying(const ir::Expr& e) const;
  /** A warp op (warp_sum, warp_max, shfl_xor, shfl_idx) occurs in `e`. */
  static bool has_warp_op(const ir::Expr& e);
  /** A warp op occurs in the expressions `s` evaluates itself (not in child statements). */
  static bool own_has_warp_op(const ir::Stmt& s);
  /** `s` (or something under it) synchronises threads: a barrier, a collective tile op
   * (copy, fill, reduce, gemm, parallel) or a warp op. */
  static bool is_sync(const ir::Stmt& s);
  /** A child statement of `s` (not `s` itself) synchronises threads. */
  static bool children_sync(const ir::Stmt& s);
  /** Running `s` once is not the same as running it on every thread: it evaluates a varying
   * expression, writes a varying local, or performs an atomic. */
  bool per_thread(const ir::Stmt& s) const;

private:
  std::set<const ir::BufferNode*> varying_locals_;
};

} // namespace tessera::codegen::cpu_internal
