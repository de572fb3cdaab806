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
 * The commit and wait points are AsyncCommit, AsyncWait and Barrier statements; the pipelined
 * copies are marked deferred in their CopyPlan (their wait is a wait point of the pipeline, and
 * the barrier pass leaves their shared writes to it). A backend without asynchronous copies runs
 * the copies at once and the points as no-ops and barriers: still correct, only without overlap.
 *
 * Loops whose body has no such copy, or with stages ≤ 1, become serial loops. A tile that is
 * also written elsewhere in the body or used outside the loop is not pipelined (copied in place).
 */
#pragma once

#include "ir/ir.h"

namespace tessera::codegen {

/**
 * Rewrites every pipelined loop of `kernel` as described in the file comment. Runs after
 * vectorize_copies (which decides which copies are asynchronous) and before the barrier pass.
 */
ir::Kernel pipeline_loops(ir::Kernel kernel);

} // namespace tessera::codegen
