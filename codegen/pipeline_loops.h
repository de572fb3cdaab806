/** \file
 * Software pipelining of `pipelined(extent, stages, body)` loops (ForKind::pipelined).
 *
 * The body's top-level copies from global memory into whole shared tiles (the "loads") get a
 * ring of `stages` copies of their tile and are issued `stages - 1` iterations ahead as cp.async
 * groups; the rest of the body (the "compute") reads the slot of its iteration. With
 * D = stages - 1, trip count n and loop variable i = min + j, the rewrite is
 *
 *     allocate X_stage0 .. X_stage{D}            for every pipelined tile X
 *     for p in 0..D-1:  if (p < n) load(p → slot p);  commit            (prologue)
 *     for q in [0, ceil(n / stages)):                                   (steady state, unrolled
 *       for s in 0..D:  j = q * stages + s                               by `stages` so every
 *         if (j < n):                                                    slot is a constant)
 *           wait(D - 1); sync          // group j landed for everyone; slot (j-1) % stages free
 *           if (j + D < n) load(j + D → slot (s + D) % stages);  commit
 *           compute(j) reading slot s
 *     wait(0); sync                                                      (drain)
 *
 * Group accounting: before `wait` in iteration j, D + j groups are committed (empty ones
 * included: commits are unconditional), group g holds iteration g's tiles, so allowing D - 1
 * pending groups completes group j. Trip counts below `stages`, not multiples of it, and 0 need no
 * special case. One barrier per iteration guards both RAW (data landed) and WAR (the slot
 * refilled in iteration j was last read by compute(j - 1)).
 *
 * Commit and wait points are Barrier statements listed in PipelinePlan::points; the pipelined
 * copies are listed in PipelinePlan::deferred. An emitter that ignores the plan still produces
 * correct code (each copy waits for itself, each point is a plain barrier), only without overlap.
 *
 * Loops whose body has no such copy, or with stages ≤ 1, become serial loops. A tile that is
 * also written elsewhere in the body or used outside the loop is not pipelined (copied in place).
 */
#pragma once

#include "codegen/lowered.h"

#include <map>
#include <set>

namespace tessera::codegen {

/** What a Barrier statement produced by pipeline_loops stands for, in emission order. */
struct AsyncPoint {
  bool commit = false; ///< tessera::mma::cp_async_commit()
  int wait = -1;       ///< tessera::mma::cp_async_wait<wait>() when ≥ 0
  bool sync = true;    ///< then a barrier over the participating threads (ctx.sync())
};

/** Side tables for the emitter (keyed by node identity, like LoweredKernel's). */
struct PipelinePlan {
  /** Copy statements to issue as cp.async without waiting (an AsyncPoint waits for them). */
  std::set<const ir::StmtNode*> deferred;
  /** Barrier statements that are async points. */
  std::map<const ir::StmtNode*, AsyncPoint> points;
};

/**
 * Rewrites every pipelined loop of `lk.kernel` as described in the file comment. Runs after
 * vectorize_copies (it copies CopyPlan and ParallelPlan entries onto the rebuilt statements) and
 * before plan_shared_memory (which then sees the ring slots). Fills `plan` when given.
 */
LoweredKernel pipeline_loops(LoweredKernel lk, PipelinePlan* plan = nullptr);

/** CUDA for one async point (commit, wait, barrier), one line per action, indented with `pad`. */
std::string emit_async_point(const AsyncPoint& point, const std::string& pad,
                             const std::string& sync);

} // namespace tessera::codegen
