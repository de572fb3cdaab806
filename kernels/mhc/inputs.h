/** \file
 * Deterministic random inputs of the mHC operators, following the spec's test recipe
 * (../shared/docs/mhc-spec.md §7) and the peer benchmark (../shared/peer/torch_mhc.py).
 * Shared by the tests, the CLI and the benchmarks so that all see the same data for a seed.
 *
 * Generator: std::mt19937_64 (its output sequence is fixed by the C++ standard) with a
 * hand-written Box–Muller transform, so values do not depend on the standard library's
 * distributions. Only std::log / std::sqrt / std::cos are used; after rounding to fp32 or bf16
 * the values are identical wherever libm is correctly rounded (glibc, musl, libc++ on Linux).
 */
#pragma once

#include "base/float16.h"
#include "kernels/mhc/config.h"

#include <cstdint>
#include <random>
#include <vector>

namespace tessera::mhc::inputs {

/** Seeded source of uniform and normal doubles. */
class Rng {
public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}
  /** Uniform in (0, 1]: 53 random bits. */
  double uniform();
  /** Standard normal: Box–Muller, z = sqrt(-2 ln u1) · cos(2π u2); two uniforms per value. */
  double normal();

private:
  std::mt19937_64 engine_;
};

/** `count` values of randn · mul + add, rounded to fp32. */
std::vector<float> randn_f32(Rng& rng, std::int64_t count, double mul = 1.0, double add = 0.0);
/** `count` values of randn · mul + add, rounded to bf16 (nearest even). */
std::vector<bf16> randn_bf16(Rng& rng, std::int64_t count, double mul = 1.0, double add = 0.0);
/** `count` values of uniform · mul, rounded to fp32 (torch.rand · mul). */
std::vector<float> rand_f32(Rng& rng, std::int64_t count, double mul = 1.0);

/** fn `[rows, n·H]`: randn(rows, n, H) · 1e-4 · (1 + 0.01·j), j the stream index. */
std::vector<float> make_fn(Rng& rng, int rows, int n, std::int64_t hidden);

/** Inputs of mhc_pre (and of the broadcast and stage tests). */
struct PreInputs {
  std::vector<bf16> residual;    ///< `[T, n, H]` randn in bf16
  std::vector<float> fn;         ///< `[M3, n·H]` make_fn
  std::vector<float> scale;      ///< `[3]` randn · 0.1
  std::vector<float> base;       ///< `[M3]` randn · 0.1
  std::vector<bf16> norm_weight; ///< `[H]` randn · 0.1 + 1 when config.norm_eps, else empty
};

/** Inputs of mhc_post. */
struct PostInputs {
  std::vector<bf16> y;         ///< `[T, H]` randn in bf16
  std::vector<bf16> residual;  ///< `[T, n, H]` randn in bf16
  std::vector<float> post_mix; ///< `[T, n]` rand · 2 (as the peer)
  std::vector<float> comb_mix; ///< `[T, n, n]` rand (as the peer)
};

/** Inputs of mhc_fused_post_pre: a post step, then the next sublayer's pre parameters. */
struct FusedPostPreInputs {
  PostInputs post;
  std::vector<float> fn;         ///< `[M3, n·H]` make_fn
  std::vector<float> scale;      ///< `[3]`
  std::vector<float> base;       ///< `[M3]`
  std::vector<bf16> norm_weight; ///< `[H]` when config.norm_eps
};

/** Inputs of the first-layer broadcast pre. */
struct BroadcastInputs {
  std::vector<bf16> embedding;   ///< `[T, H]` randn in bf16
  std::vector<float> fn;         ///< `[M3, n·H]` make_fn (the per-stream weight)
  std::vector<float> fn_bcast;   ///< `[M3, H]` ref::broadcast_fn(fn)
  std::vector<float> scale;      ///< `[3]`
  std::vector<float> base;       ///< `[M3]`
  std::vector<bf16> norm_weight; ///< `[H]` randn · 0.1 + 1 (always: the norm is mandatory)
};

/** Inputs of hc_head (vLLM's test recipe). */
struct HeadInputs {
  std::vector<bf16> residual; ///< `[T, n, H]` randn in bf16
  std::vector<float> fn;      ///< `[n, n·H]` randn · 1e-4
  std::vector<float> scale;   ///< `[1]` randn · 0.1
  std::vector<float> base;    ///< `[n]` randn · 0.1
};

/** Each make_* draws its tensors in the order of the struct's fields from Rng(seed).
 * T may be 0. config is validated. */
PreInputs make_pre_inputs(const Config& config, std::int64_t tokens, std::uint64_t seed);
PostInputs make_post_inputs(const Config& config, std::int64_t tokens, std::uint64_t seed);
FusedPostPreInputs make_fused_post_pre_inputs(const Config& config, std::int64_t tokens,
                                              std::uint64_t seed);
BroadcastInputs make_broadcast_inputs(const Config& config, std::int64_t tokens,
                                      std::uint64_t seed);
HeadInputs make_head_inputs(const Config& config, std::int64_t tokens, std::uint64_t seed);
/** Sinkhorn logits `[T, n, n]`: randn (the spread of `m·scale[2] + base` is smaller; unit
 * variance exercises the iteration harder). */
std::vector<float> make_sinkhorn_logits(const Config& config, std::int64_t tokens,
                                        std::uint64_t seed);

} // namespace tessera::mhc::inputs
