/** \file
 * Pass: removes bounds checks that hold in every thread of every block of the launch.
 */
#pragma once

#include "ir/ir.h"

namespace tessera::codegen {

/**
 * Lowered copies guard each vector with "inside the tensor" conditions (`t < num_tokens`,
 * `h + 8 <= H`). Where the launch already makes them true — `grid(T, ...)` gives
 * `block_x < T`, a tile grid over H with whole tiles bounds `block_y * 512 + thread_idx * 8` —
 * the check costs more than its compare: each guarded vector load sits in its own branch, and
 * ptxas does not hoist a load over the branch in front of it, so a thread's loads leave one
 * after another instead of together (measured on mhc_post: three DRAM round trips per thread
 * instead of one).
 *
 * A comparison of integers is replaced by its constant value when interval arithmetic decides
 * it for every thread: constants; thread_idx in [0, threads); block_idx(a) in [0, grid[a]) for a
 * constant grid extent; variables of loops with constant bounds, of parallel loops and of lets
 * (their value's interval); sums, differences, products, minima, maxima, and quotients and
 * remainders by positive constants of those; widening integer casts. An i32 expression whose
 * interval is not wholly known and inside the i32 range could wrap, and counts as unknown. One
 * symbolic rule covers dynamic grids: `block_idx(a) < grid[a]` is true. Conjunctions drop true
 * terms, and an if whose condition became constant is replaced by the taken branch. Nothing else
 * changes: the pass preserves every value the kernel computes.
 */
ir::Kernel prune_bounds_checks(ir::Kernel kernel);

} // namespace tessera::codegen
