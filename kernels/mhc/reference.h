/** \file
 * Host C++ references of the mHC operators (spec ../shared/docs/mhc-spec.md §3), the ground
 * truth the DSL kernels are tested against. No GPU is involved.
 *
 * Numerics. Every sum, product and transcendental is evaluated in fp64; values are rounded
 * only where the spec stores them:
 *  - bf16 outputs (layer_input, residuals, hc_head out) are rounded once, directly from the
 *    fp64 value to bf16 (round to nearest even, without an intermediate fp32 rounding);
 *  - fp32 outputs (post_mix, comb_mix, stage-A partials) are rounded once from fp64 to fp32;
 *  - stage A writes fp32 partials `[S, T, M3]` and `[S, T]`, and stage B reads those fp32
 *    values (as the GPU pipeline does), summing them in fp64 in split order s = 0..S-1;
 *  - the fused RMSNorm stages the collapse as bf16 but takes its statistic from the unrounded
 *    collapse, and computes `(v_bf16 · ρ) · w` with one final rounding (§3.3);
 *  - GemmPrecision::tf32 rounds `fn` to TF32 (round_to_tf32) before the projection; bf16 `x`
 *    is exact in TF32, and the products and sums stay fp64.
 * Internal fp32 quantities of the kernels (pre, the unrounded new residual of §3.7, the
 * Sinkhorn iterates) are kept in fp64 here: a kernel differs from the reference by its fp32
 * accumulation error plus at most one bf16 ulp on bf16 outputs.
 *
 * Layouts. All arrays are dense row-major: residual `[T, n, H]`, fn `[M3, n·H]` (K index
 * `j·H + h`), mixes `[T, M3]` in the order pre `[0, n)`, post `[n, 2n)`, comb `[2n, 2n+n²)`
 * with comb element `(j, k)` at `2n + j·n + k`; comb_mix `[T, n, n]`; post_mix `[T, n]`.
 * Sizes are checked; a wrong size throws UserError. T = 0 gives empty outputs.
 */
#pragma once

#include "base/float16.h"
#include "kernels/mhc/config.h"

#include <cstdint>
#include <span>
#include <vector>

namespace tessera::mhc::ref {

/** Rounds a float to TF32 (10 explicit mantissa bits) the way `cvt.rna.tf32.f32` and
 * TileKernels' `round_to_tf32` (+0x1000 on the bit pattern) do: to nearest, ties away from
 * zero. The result is a float whose low 13 mantissa bits are zero. Inf and NaN pass through;
 * values that round past the largest finite TF32 become infinity. */
float round_to_tf32(float x);

/** Rounds a double to bfloat16 (nearest, ties to even) in one step (no double rounding
 * through fp32). */
bf16 round_to_bf16(double x);

/** A half-open index range [begin, end). */
struct Range {
  std::int64_t begin = 0;
  std::int64_t end = 0;
  std::int64_t size() const { return end - begin; }
};

/**
 * The K range of split `split` of stage A (DeepGEMM's partition, generalised to any K):
 * K is cut into nkb = ceil(K / kSplitBlockK) blocks of 64 (the last one possibly short);
 * split s gets floor(nkb / S) blocks plus one more if s < nkb % S, contiguously, in order.
 * Splits beyond nkb get an empty range (their partials are 0).
 */
Range stage_a_split_range(std::int64_t k, int num_splits, int split);

/** The H range of split `split` of the single-pass fused post+pre kernel (§3.7), which splits
 * the hidden dimension (every stream j of a split covers the same h range):
 * [floor(s·H/S), floor((s+1)·H/S)). Equal to the kernel's `s·H/S` ranges when S divides H. */
Range fused_split_h_range(std::int64_t hidden, int num_splits, int split);

/** Stage-A outputs: partial projections and square sums per K-split. */
struct StageAResult {
  int num_splits = 1;
  std::int64_t tokens = 0;
  int mixes = 0;
  /** `[S, T, mixes]`: Σ_{k in split s} x[t,k]·fn[c,k]. */
  std::vector<float> mix;
  /** `[S, T]`: Σ_{k in split s} x[t,k]². */
  std::vector<float> sqrsum;
};

/**
 * Stage A (§3.1): `x[T, K] · fn[mixes, K]ᵀ` and `Σ x²`, split over K by
 * stage_a_split_range(). With GemmPrecision::tf32 `fn` is rounded by round_to_tf32 first.
 * Each partial is accumulated in fp64 and rounded to fp32 once.
 */
StageAResult stage_a(std::span<const bf16> x, std::span<const float> fn, std::int64_t tokens,
                     std::int64_t k, int mixes, int num_splits = 1,
                     GemmPrecision precision = GemmPrecision::fp32);

/** `[T, M3]` view of a stage-A result reduced over its splits (fp64 sum in split order, then
 * fp32): the unsplit projection. `sqrsum` gets `[T]`. */
void reduce_stage_a(const StageAResult& a, std::vector<float>& mix, std::vector<float>& sqrsum);

/**
 * Sinkhorn–Knopp on one n×n matrix in place (§3.0 step 4): `c` holds the logits L on entry and
 * the result on exit. Row softmax (max-subtracted) then `+ eps`; a column normalisation
 * `c / (colsum + eps)`; then `iters − 1` times a row normalisation `c / (rowsum + eps)`
 * followed by a column normalisation. iters >= 1.
 */
void sinkhorn_matrix(std::span<double> c, int n, int iters, double eps);

/** Standalone Sinkhorn (§3.9): logits `[T, n, n]` fp32 → comb `[T, n, n]` fp32. */
std::vector<float> sinkhorn(std::span<const float> logits, std::int64_t tokens, int n, int iters,
                            float eps);

/** Collapse (pre-apply, §3.0 step 5) with given weights: `out[t,h] = bf16(Σ_j pre[t,j] ·
 * residual[t,j,h])`, pre `[T, n]`. */
std::vector<bf16> collapse(std::span<const bf16> residual, std::span<const float> pre,
                           std::int64_t tokens, int n, std::int64_t hidden);

/** Outputs of a pre step: the mixes of the next sublayer and its input. */
struct PreResult {
  std::vector<float> post_mix;   ///< `[T, n]`
  std::vector<float> comb_mix;   ///< `[T, n, n]`
  std::vector<bf16> layer_input; ///< `[T, H]`
  StageAResult stage_a;          ///< the partials the big fuse consumed (composites only)
};

/** Outputs of an op that also produces a new residual (broadcast pre, fused post+pre). */
struct ResidualPreResult {
  std::vector<bf16> residual;    ///< `[T, n, H]`: residual_out / residual_cur
  std::vector<float> post_mix;   ///< `[T, n]`
  std::vector<float> comb_mix;   ///< `[T, n, n]`
  std::vector<bf16> layer_input; ///< `[T, H]`
  StageAResult stage_a;          ///< the partials the big fuse consumed
};

/**
 * Stage B, the "big fuse" (§3.2, and §3.3 when config.norm_eps is set): sum the split
 * partials, RMS scale `r = 1/sqrt(S_tot/(n·H) + rms_eps)`, pre/post sigmoids, Sinkhorn, collapse
 * of `residual [T, n, H]`. `partial_mix [S, T, M3]`, `partial_sqrsum [S, T]`, scale `[3]`,
 * base `[M3]`. `norm_weight [H]` is required iff config.norm_eps is set (else pass {}).
 */
PreResult big_fuse(const Config& config, std::int64_t tokens, int num_splits,
                   std::span<const float> partial_mix, std::span<const float> partial_sqrsum,
                   std::span<const float> scale, std::span<const float> base,
                   std::span<const bf16> residual, std::span<const bf16> norm_weight = {});

/**
 * Stage B of the first-layer broadcast variant (§3.4): the residual is the 2-D embedding
 * `E [T, H]` repeated over the n streams. Partials come from stage A on E with K = H and
 * `fn_bcast`; `r = 1/sqrt(S_tot/H + rms_eps)`; residual_out `[T, n, H]` holds exact copies of
 * E; the collapse is Σ_j pre[j]·E. The fused norm is mandatory: config.norm_eps must be set and
 * norm_weight `[H]` given.
 */
ResidualPreResult big_fuse_broadcast(const Config& config, std::int64_t tokens, int num_splits,
                                     std::span<const float> partial_mix,
                                     std::span<const float> partial_sqrsum,
                                     std::span<const float> scale, std::span<const float> base,
                                     std::span<const bf16> embedding,
                                     std::span<const bf16> norm_weight);

/** fn_bcast `[M3, H]`: `Σ_j fn[c, j·H + h]` (fp64 sum rounded to fp32) from fn `[M3, n·H]`. */
std::vector<float> broadcast_fn(std::span<const float> fn, int n, std::int64_t hidden);

/**
 * mhc_pre (§3.5) = stage A (config.gemm_precision, `num_splits` splits) then big_fuse.
 * residual `[T, n, H]`, fn `[M3, n·H]`, scale `[3]`, base `[M3]`, norm_weight `[H]` iff
 * config.norm_eps.
 */
PreResult mhc_pre(const Config& config, std::int64_t tokens, std::span<const bf16> residual,
                  std::span<const float> fn, std::span<const float> scale,
                  std::span<const float> base, std::span<const bf16> norm_weight = {},
                  int num_splits = 1);

/** The broadcast pre (§3.4): stage A on `embedding [T, H]` with `fn_bcast [M3, H]`
 * (K = H, config.gemm_precision), then big_fuse_broadcast. Needs config.norm_eps. */
ResidualPreResult mhc_pre_broadcast(const Config& config, std::int64_t tokens,
                                    std::span<const bf16> embedding,
                                    std::span<const float> fn_bcast, std::span<const float> scale,
                                    std::span<const float> base, std::span<const bf16> norm_weight,
                                    int num_splits = 1);

/**
 * mhc_post (§3.6): `out[t,k,h] = bf16(post[t,k]·y[t,h] + Σ_j comb[t,j,k]·residual[t,j,h])`
 * (note the transpose: new stream k uses column k of comb). y `[T, H]`, residual `[T, n, H]`,
 * post_mix `[T, n]`, comb_mix `[T, n, n]`.
 */
std::vector<bf16> mhc_post(const Config& config, std::int64_t tokens, std::span<const bf16> y,
                           std::span<const bf16> residual, std::span<const float> post_mix,
                           std::span<const float> comb_mix);

/** mhc_fused_post_pre (§3.7), the two-pass definition: mhc_post, then mhc_pre on the new
 * (bf16) residual with `num_splits` splits. */
ResidualPreResult mhc_fused_post_pre(const Config& config, std::int64_t tokens,
                                     std::span<const bf16> y, std::span<const bf16> residual,
                                     std::span<const float> post_mix,
                                     std::span<const float> comb_mix, std::span<const float> fn,
                                     std::span<const float> scale, std::span<const float> base,
                                     std::span<const bf16> norm_weight = {}, int num_splits = 1);

/**
 * mhc_fused_post_pre with the numerics of the single-pass small-T kernel (§3.7): the new
 * residual r_new is computed unrounded; the projection (full precision fn, config.gemm_precision
 * is ignored) and the square sum use unrounded r_new, split over H by fused_split_h_range();
 * the stored residual is bf16(r_new) and the big fuse collapses that rounded residual.
 */
ResidualPreResult
mhc_fused_post_pre_single_pass(const Config& config, std::int64_t tokens, std::span<const bf16> y,
                               std::span<const bf16> residual, std::span<const float> post_mix,
                               std::span<const float> comb_mix, std::span<const float> fn,
                               std::span<const float> scale, std::span<const float> base,
                               std::span<const bf16> norm_weight, int num_splits);

/**
 * hc_head (§3.8): `pre[j] = sigmoid(m[j]·r·scale[0] + base[j]) + hc_pre_eps` with
 * `m = x_flat · fn_headᵀ`, `r = 1/sqrt(Σx²/(n·H) + rms_eps)`, and `out = bf16(Σ_j pre[j]·X_j)`.
 * residual `[T, n, H]`, fn_head `[n, n·H]` (full fp32, no TF32, no split), scale `[1]`,
 * base `[n]`. Output `[T, H]`.
 */
std::vector<bf16> hc_head(const Config& config, std::int64_t tokens, std::span<const bf16> residual,
                          std::span<const float> fn_head, std::span<const float> scale,
                          std::span<const float> base);

} // namespace tessera::mhc::ref
