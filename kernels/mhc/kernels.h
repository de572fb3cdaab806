/** \file
 * The mHC kernels as DSL programs: one builder per kernel, each turning compile-time parameters
 * (hidden size, stream count, eps values, iteration count, split count, tile sizes) into a
 * traced ir::Kernel. The token count T is the only dynamic dimension (bound at launch).
 *
 * Work decomposition (docs/mhc.md, "Kernels"):
 *  - stage_a:        grid (T, S); block (t, s) reduces split s of row t over K (64-element
 *                    blocks, DeepGEMM's partition) into partial_mix[s, t, :] / partial_sqrsum[s,
 * t].
 *  - big_fuse:       plain: grid (T, ceil(H / hb)); every block sums the S partials of its token
 *                    (deterministic, sequential in s), computes pre, and collapses one H tile;
 *                    warp 0 of block (t, 0) also runs post and the Sinkhorn and writes them.
 *                    norm / broadcast: grid (T); the collapse stays in registers (unrolled over
 *                    the H tiles) so the RMS statistic of the whole row can be taken.
 *  - post:           grid (T, ceil(H / hb)), one H tile of all n streams per block.
 *  - post_stage_a:   mhc_fused_post_pre past small T: grid (ceil(T / bm), S); the new residual
 *                    of bm tokens over split s's H tiles, stored and projected from shared.
 *  - fused_post:     the single-pass small-T kernel of mhc_fused_post_pre: grid (T, S); block
 *                    (t, s) computes the new residual for its H tiles, stores it, and
 *                    accumulates the projection and square sum of the unrounded values.
 *  - head_collapse:  hc_head after stage_a(rows = n): grid (T, ceil(H / hb)).
 *  - sinkhorn:       one token per thread, grid ceil(T / threads).
 * Every kernel waits for its predecessor (PDL) at entry and triggers its dependents at exit.
 *
 * Which kernels an op launches, with which parameters, is its plan (kernels/mhc/plan.h). The
 * parameter structs compare member by member: the plan keys the kernels it has traced by them.
 */
#pragma once

#include "ir/ir.h"
#include "kernels/mhc/config.h"

#include <compare>
#include <cstdint>
#include <optional>
#include <string>

namespace tessera::mhc::kernels {

/** Stage A: `x[T, K] · fn[rows, K]ᵀ` and `Σ x²` per split. */
struct StageAParams {
  std::int64_t k = 0; ///< reduction length (n·H, or H for the broadcast variant)
  int rows = 24;      ///< rows of fn (M3 for pre, n for hc_head)
  int splits = 1;     ///< S
  GemmPrecision precision = GemmPrecision::fp32;
  int threads = 256; ///< threads per block
  /** K elements per loop iteration of a block (a multiple of 8). */
  int tile_k = 1024;

  auto operator<=>(const StageAParams&) const = default;
};
ir::Kernel stage_a(const StageAParams& p);

/** Stage A on tensor cores for larger T: grid (ceil(T / block_m), S), 128 threads. Per 64-wide
 * K tile (whole 64-blocks of the split: no masking) the bf16 x tile and the f32 fn tile stream
 * into row-padded shared rings (cp.async, `stages` deep) and one mixed bf16 × f32 `gemm` (TF32
 * mma, or FFMA in the same layout for fp32) accumulates into a block_m × ceil8(rows) fragment,
 * so fn is read once per block_m tokens; Σx² is summed with FMAs from the same shared x tile. */
struct StageAMmaParams {
  std::int64_t k = 0;
  int rows = 24;
  int splits = 1;
  GemmPrecision precision = GemmPrecision::tf32;
  int block_m = 64;
  int stages = 3; ///< cp.async ring depth of the x and fn tiles

  auto operator<=>(const StageAMmaParams&) const = default;
};
ir::Kernel stage_a_mma(const StageAMmaParams& p);
std::string describe(const StageAMmaParams& p);

/** H elements per stream of one post_stage_a tile (K = n · this per gemm step). */
inline constexpr int kPostStageATileH = 64;

/** mhc_fused_post_pre past the small-T kernel: mhc_post and the tensor-core stage A in one
 * kernel. Grid (ceil(T / block_m), S) × 128; block (mb, s) computes the new residual of its
 * tokens over split s's 64-element H tiles (all n streams: a split cuts H, not K), stores it
 * (bf16) and feeds the same rounded values from shared memory to the stage-A gemm and square
 * sum, so the new residual is read once (by the big fuse) instead of twice. */
struct PostStageAParams {
  std::int64_t hidden = 0;
  int n = 4;
  int rows = 24; ///< M3
  int splits = 1;
  GemmPrecision precision = GemmPrecision::tf32;
  int block_m = 128;
  int stages = 3;            ///< cp.async ring depth of the fn tiles
  bool unroll_chunks = true; ///< unroll a thread's chunk loop (loads in flight vs JIT time)

  auto operator<=>(const PostStageAParams&) const = default;
};
ir::Kernel post_stage_a(const PostStageAParams& p);
std::string describe(const PostStageAParams& p);

/** Which stage-B kernel. */
enum class BigFuseVariant : std::uint8_t {
  plain,     ///< §3.2
  norm,      ///< §3.3: fused RMSNorm of the layer input
  broadcast, ///< §3.4: 2-D embedding input, writes the n residual streams, fused norm
};
const char* variant_name(BigFuseVariant v);

/** Stage B ("big fuse"). */
struct BigFuseParams {
  std::int64_t hidden = 0;
  int n = 4;
  int splits = 1;
  int iters = 20;
  float rms_eps = 1e-6f;
  float pre_eps = 1e-6f;
  float sinkhorn_eps = 1e-6f;
  float post_mult = 2.0f;
  float norm_eps = 1e-6f; ///< norm and broadcast variants
  BigFuseVariant variant = BigFuseVariant::plain;
  /** H elements per tile; the collapse threads are tile_h / 8 (plain) or 128 (norm). */
  int tile_h = 512;

  auto operator<=>(const BigFuseParams&) const = default;
};
BigFuseParams big_fuse_params(const Config& c, int splits, BigFuseVariant v);
ir::Kernel big_fuse(const BigFuseParams& p);

/** mhc_post. */
struct PostParams {
  std::int64_t hidden = 0;
  int n = 4;
  int tile_h = 512; ///< H elements per block
  int threads = 0;  ///< threads per block; 0: tile_h / 8 (one 16-byte vector per stream each)

  auto operator<=>(const PostParams&) const = default;
};
ir::Kernel post(const PostParams& p);

/** Single-pass post + projection partials of mhc_fused_post_pre (small T). */
struct FusedPostParams {
  std::int64_t hidden = 0;
  int n = 4;
  int splits = 4;
  int threads = 128;
  int tile_h = 512; ///< H elements per loop iteration

  auto operator<=>(const FusedPostParams&) const = default;
};
ir::Kernel fused_post(const FusedPostParams& p);

/** hc_head's second kernel: split reduction, pre, collapse. */
struct HeadCollapseParams {
  std::int64_t hidden = 0;
  int n = 4;
  int splits = 1;
  float rms_eps = 1e-6f;
  float hc_eps = 1e-6f;
  int tile_h = 512;

  auto operator<=>(const HeadCollapseParams&) const = default;
};
ir::Kernel head_collapse(const HeadCollapseParams& p);

/**
 * hc_head in one pass over the residual (sm_90+ clusters): a cluster of `cluster` blocks splits
 * each token's row by H, every block keeps its slice of the residual tile and of fn on chip,
 * the blocks exchange their partial projections through the workspace at a cluster barrier,
 * and each collapses its own slice. Persistent: at most `max_clusters` clusters loop over the
 * token tiles, so fn is read once per block, not once per tile.
 */
struct HeadFusedParams {
  std::int64_t hidden = 0;
  int n = 4;
  int cluster = 8;
  int block_m = 8; ///< tokens per tile
  int threads = 128;
  int max_clusters = 16;
  /** Residual tiles in flight per block: 2 loads tile i + 1 (cp.async) while tile i computes. */
  int stages = 2;
  float rms_eps = 1e-6f;
  float hc_eps = 1e-6f;

  /** H per block: the row split in `cluster` slices, rounded up to whole 16-byte vectors. */
  std::int64_t slice() const { return ((hidden + cluster - 1) / cluster + 7) / 8 * 8; }
  auto operator<=>(const HeadFusedParams&) const = default;
};
ir::Kernel head_fused(const HeadFusedParams& p);

/** Standalone Sinkhorn on `[T, n, n]`. */
struct SinkhornParams {
  int n = 4;
  int iters = 20;
  float eps = 1e-6f;
  int threads = 128;
  /** Each warp runs 32 / n² tokens, a lane per element (detail::sinkhorn_warp: short latency
   * chains, for few tokens); else a thread per token (most throughput, for many). n² ≤ 32. */
  bool warp = false;

  auto operator<=>(const SinkhornParams&) const = default;
};
ir::Kernel sinkhorn(const SinkhornParams& p);

/** A short stable description of the parameters ("H=7168 n=4 S=16 ..."), for cache keys and
 * `tessera emit`. */
std::string describe(const StageAParams& p);
std::string describe(const BigFuseParams& p);
std::string describe(const PostParams& p);
std::string describe(const FusedPostParams& p);
std::string describe(const HeadCollapseParams& p);
std::string describe(const HeadFusedParams& p);
std::string describe(const SinkhornParams& p);

} // namespace tessera::mhc::kernels
