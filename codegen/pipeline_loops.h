/** \file
 * Software pipelining of `pipelined(extent, stages, body)` loops (ForKind::pipelined).
 *
 * The body's top-level copies from global memory into whole shared tiles (the "loads") get a
 * ring of `stages` slots of their tile and are issued `stages - 1` iterations ahead as cp.async
 * groups; the rest of the body (the "compute") reads the slot of its iteration. With
 * D = stages - 1, trip count n and loop variable i = min + j, the rewrite is
 *
 *     allocate X_ring[stages]                    for every pipelined tile X
 *     for p in 0..D-1:  if (p < n) load(p → slot p);  commit            (prologue)
 *     for j in [0, n):                                                  (steady state)
 *       wait(D - 1); sync          // group j landed for everyone; slot (j-1) % stages free
 *       if (j + D < n) load(j + D → slot (j + D) % stages);  commit
 *       compute(j) reading slot j % stages
 *     wait(0); sync                                                      (drain)
 *
 * A slot is a view (BufferNode::view_of): the ring's storage from slot · (tile elements) on,
 * declared where the iteration's slot is known, so the loop body exists once whatever the stage
 * count (the CUDA compiler's time grows with the code it is given: mhc stage A 1.42 → 0.61 s).
 * A tile whose size is not a multiple of 16 bytes (slots would misalign cp.async) is not
 * pipelined. Two-stage loops keep constant slots instead — one buffer per slot and the steady
 * state unrolled by two (`for q: j = 2q + s, s = 0, 1`), whose constant shared addresses a 64×64
 * f32 gemm needed to stay spill-free on sm_80.
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
