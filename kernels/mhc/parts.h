/** \file
 * DSL building blocks shared by the mHC kernels (internal): the split reduction of the stage-A
 * partials, the per-thread Sinkhorn, the collapse of one H tile and the K-split ranges.
 */
#pragma once

#include "dsl/builder.h"

#include <cstdint>

namespace tessera::mhc::kernels::detail {

using dsl::Expr;
using dsl::TileRef;

/** [begin, end) of split `s` when `length` is cut into `blocks` blocks of `block` elements
 * (the last one possibly short) dealt contiguously: split s gets floor(blocks / S) blocks plus
 * one more if s < blocks % S (DeepGEMM's partition; ref::stage_a_split_range for block 64). */
struct SplitRange {
  Expr begin_block; ///< first block of the split
  Expr num_blocks;  ///< blocks of the split (may be 0)
  Expr begin;       ///< first element
  Expr end;         ///< one past the last element (clipped to `length`)
  Expr last_block;  ///< blocks - 1 over all splits (a constant)

  /** Block `i` of the split (i < num_blocks), clamped to the last block: the same value, but
   *  its bound is plain to prune_bounds_checks (begin_block + i is bounded only through the
   *  correlation of the two), so whole-tile copies of it run unguarded. */
  Expr block(Expr i) const;
};
SplitRange split_range(Expr s, std::int64_t length, int block, int splits);

/**
 * Sums the S split partials of token `t` in split order (deterministic): thread c < rows sums
 * partial_mix[:, t, c], thread `rows` sums partial_sqrsum[:, t]; the results land in `red`
 * (shared f32 `[rows + 1]`), followed by a block barrier. Needs at least rows + 1 threads.
 */
void reduce_partials(const TileRef& partial_mix, const TileRef& partial_sqrsum, Expr t, int splits,
                     int rows, const TileRef& red);

/** Sinkhorn–Knopp in place on the per-thread local `c` (`[n, n]`, logits on entry): row softmax
 * + eps, column normalisation, then iters − 1 times row and column normalisation (§3.0). */
void sinkhorn_local(const TileRef& c, int n, int iters, float eps);

/** The same Sinkhorn spread over a warp (n² ≤ 32), 32 / n² matrices at once: lane l calls it
 * with `x` (a per-thread scalar local) holding logit (e / n, e mod n), e = l mod n², of matrix
 * l / n², and gets that element of the result, bit-identical to sinkhorn_local's. Lanes of the
 * partial group past the last whole one (32 mod n² of them) get values that must not be stored.
 * All 32 lanes of the warp must call it. */
void sinkhorn_warp(const TileRef& x, int n, int iters, float eps);

/** `out[t, tile] = bf16(Σ_j pre[j] · residual[t, j, tile])` for H tile `tile_index` of `hb`
 * elements; `pre` is a per-thread local `[n]`. Collective over the participating threads. */
void collapse_tile(const TileRef& residual, const TileRef& out, Expr t, Expr tile_index, int hb,
                   int n, const TileRef& pre);

} // namespace tessera::mhc::kernels::detail
