/** \file
 * tessera::mhc::Config: everything that specialises one mHC operator (the compile-time key of
 * its kernels: hidden size, stream count, iteration count, eps values, GEMM precision, fused
 * norm) and the split-K policy of the stage-A GEMM. See docs/mhc.md and
 * ../shared/docs/mhc-spec.md §2, §3.5.
 */
#pragma once

#include <cstdint>
#include <optional>

namespace tessera::mhc {

/** Precision of the stage-A projection `x · fnᵀ`. */
enum class GemmPrecision : std::uint8_t {
  /** Tensor-core TF32: `fn` enters the MMA rounded to TF32 (round to nearest, ties away from
   * zero, i.e. `cvt.rna.tf32.f32`); bf16 `x` is exact in TF32; fp32 accumulation. */
  tf32,
  /** Full fp32 FMA on `float(x) · fn`. */
  fp32,
};

/** How many K-splits stage A uses (its partials `[S, T, M3]` are summed by stage B). */
struct SplitPolicy {
  enum class Kind : std::uint8_t { automatic, fixed };
  Kind kind = Kind::automatic;
  /** The split count when kind == fixed (>= 1); ignored otherwise. */
  int splits = 0;

  /** choose_num_splits() from the device's SM count and the token count. */
  static SplitPolicy automatic() { return {}; }
  /** Always `splits` splits. */
  static SplitPolicy fixed(int splits) { return {Kind::fixed, splits}; }
};

/** Largest supported `hc_mult`. */
inline constexpr int kMaxHcMult = 8;
/** Largest fixed split count accepted by Config::validate(). */
inline constexpr int kMaxSplits = 1024;

/** Configuration of the mHC operators. Defaults are DeepSeek-V4's (spec §2) except `hidden`,
 * which has no default and must be set. */
struct Config {
  /** Hidden size H (>= 1; any value, not only multiples of 64 or 256). */
  std::int64_t hidden = 0;
  /** Number of residual streams n (`hc_mult`), 2..kMaxHcMult; 4 in every DeepSeek-V4 model. */
  int hc_mult = 4;
  /** Sinkhorn repeat count R (>= 1): 1 softmax, R column and R-1 row normalisations. */
  int sinkhorn_iters = 20;
  /** eps of the RMS scale `rsqrt(Σx²/K + rms_eps)` (also hc_head's). */
  float rms_eps = 1e-6f;
  /** eps added to `pre = sigmoid(...) + hc_pre_eps` (also hc_head's `hc_eps`). */
  float hc_pre_eps = 1e-6f;
  /** eps of the Sinkhorn iterations (after the softmax and in every denominator). */
  float hc_sinkhorn_eps = 1e-6f;
  /** Multiplier of `post = sigmoid(...) · post_mult` (2.0 in V4, 1.0 in vLLM's unit tests). */
  float post_mult = 2.0f;
  /** Precision of the stage-A GEMM. */
  GemmPrecision gemm_precision = GemmPrecision::tf32;
  /** Split-K policy of stage A. */
  SplitPolicy split = SplitPolicy::automatic();
  /** When set, the layer input is RMS-normalised with a bf16 weight and this eps inside the
   * big fuse (spec §3.3); the ops then require a `norm_weight`. */
  std::optional<float> norm_eps;

  /** n. */
  int n() const { return hc_mult; }
  /** K = n·H, the flattened residual length. */
  std::int64_t k() const { return static_cast<std::int64_t>(hc_mult) * hidden; }
  /** M3 = n·(n+2), the number of mixes (24 for n = 4). */
  int mix_count() const { return hc_mult * (hc_mult + 2); }

  /** Throws UserError naming the first invalid field, its value and what is allowed. */
  void validate() const;
};

/** Largest T for which mhc_fused_post_pre runs the single-pass kernel (whose numerics differ
 * from post-then-pre: ref::mhc_fused_post_pre_single_pass); larger T run post, stage A and the
 * big fuse. Also the T up to which stage A always runs the per-token kernel (kernels/mhc/plan.h).
 */
inline constexpr std::int64_t kFusedSmallT = 16;

/** Block size along M (tokens) and K of the stage-A split policy (DeepGEMM's tiles). */
inline constexpr int kSplitBlockM = 64;
inline constexpr int kSplitBlockK = 64;

/**
 * vLLM's `compute_num_split(block_k, k, grid)` with `grid = ceil(num_tokens / block_m)`
 * (spec §3.5), used for the automatic split policy:
 *
 *     grid = max(1, ceil(num_tokens / block_m))       // stage-A CTAs along M
 *     s    = num_sms / grid                           // fill the SMs once
 *     s    = min(s, ceil(k / block_k) / 4)            // each split keeps >= 4 k-blocks
 *     return max(s, 1)
 *
 * (integer divisions). num_tokens = 0 is treated as one M block. E.g. 132 SMs, K = 16384:
 * T <= 64 → 64, T = 256 → 33, T = 1024 → 8, T >= 8192 → 1. The broadcast variant passes K = H.
 * Throws UserError for num_sms < 1, num_tokens < 0, k < 1 or non-positive block sizes.
 */
int choose_num_splits(int num_sms, std::int64_t num_tokens, std::int64_t k,
                      int block_m = kSplitBlockM, int block_k = kSplitBlockK);

/** The newest vLLM's bucketing of a split count to bound JIT specialisations (spec §3.5):
 * 1 stays 1, 2..4 → 4, anything larger → 16. */
int bucket_num_splits(int num_splits);

/** The split count `config.split` selects for `num_tokens` tokens on a device with `num_sms`
 * SMs and a stage-A reduction length `k` (config.k(), or config.hidden for the broadcast
 * variant). A fixed policy returns its count unchanged. */
int resolve_num_splits(const Config& config, int num_sms, std::int64_t num_tokens, std::int64_t k);

} // namespace tessera::mhc
