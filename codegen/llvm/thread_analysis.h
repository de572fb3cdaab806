/** \file
 * Internal: which parts of a thread-level kernel depend on the thread running them, for the CPU
 * backend, which runs a block as one host thread and each thread-dependent stretch of code as a
 * loop over the thread ids (docs/cpu-backend.md, "Thread semantics"). Pure IR analysis.
 */
#pragma once

#include "ir/ir.h"

#include <functional>
#include <set>

namespace tessera::codegen::cpu_internal {

/** The facts the CPU translation needs about a kernel's use of threads. */
class ThreadAnalysis {
public:
  explicit ThreadAnalysis(const ir::Kernel& kernel);

  /** A local buffer whose contents differ between threads (one copy per thread on the CPU). */
  bool varying_local(const ir::BufferNode* b) const { return varying_locals_.count(b) != 0; }
  /** A variable (loop or let) whose value differs between threads. */
  bool varying_var(const ir::ExprNode* v) const { return varying_vars_.count(v) != 0; }
  /** The expression depends on the thread: thread_idx, a warp op, a varying variable or local. */
  bool varying(const ir::Expr& e) const;
  /** A warp op (warp_sum, warp_max, warp_min, shfl_xor, shfl_idx) occurs in `e`. */
  static bool has_warp_op(const ir::Expr& e);
  /** A warp op occurs in the expressions `s` evaluates itself (not in child statements). */
  static bool own_has_warp_op(const ir::Stmt& s);
  /** `s` (or something under it) synchronises threads: a barrier, a warp op, a tensor-core
   *  tile. */
  static bool is_sync(const ir::Stmt& s);
  /** A child statement of `s` (not `s` itself) synchronises threads. */
  static bool children_sync(const ir::Stmt& s);
  /** Running `s` once is not the same as running it on every thread: it evaluates a varying
   *  expression, writes a varying local, or performs an atomic. */
  bool per_thread(const ir::Stmt& s) const;

private:
  /** Marks uniform locals updated from their own value inside a thread loop as varying; true
   *  if it marked any. */
  bool mark_updated_in_thread_loops(const ir::Stmt& body);

  std::set<const ir::BufferNode*> varying_locals_;
  std::set<const ir::ExprNode*> varying_vars_;
};

/** Calls `fn` on every expression `s` evaluates itself (not those of child statements). */
void for_each_own_expr(const ir::Stmt& s, const std::function<void(const ir::Expr&)>& fn);

} // namespace tessera::codegen::cpu_internal
