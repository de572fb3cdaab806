#include "kernels/mhc/inputs.h"

#include "base/error.h"
#include "kernels/mhc/reference.h"

#include <cmath>
#include <fmt/format.h>
#include <numbers>

namespace tessera::mhc::inputs {

namespace {

void check_tokens(std::int64_t tokens) {
  if (tokens < 0) {
    throw UserError(fmt::format("mhc::inputs: token count must be >= 0, got {}", tokens));
  }
}

} // namespace

double Rng::uniform() {
  // 53 high bits → (0, 1]: never 0, so log(u) is finite.
  return static_cast<double>((engine_() >> 11) + 1) * 0x1.0p-53;
}

double Rng::normal() {
  const double u1 = uniform();
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

std::vector<float> randn_f32(Rng& rng, std::int64_t count, double mul, double add) {
  std::vector<float> v(static_cast<std::size_t>(count));
  for (auto& x : v) {
    x = static_cast<float>(rng.normal() * mul + add);
  }
  return v;
}

std::vector<bf16> randn_bf16(Rng& rng, std::int64_t count, double mul, double add) {
  std::vector<bf16> v(static_cast<std::size_t>(count));
  for (auto& x : v) {
    x = ref::round_to_bf16(rng.normal() * mul + add);
  }
  return v;
}

std::vector<float> rand_f32(Rng& rng, std::int64_t count, double mul) {
  std::vector<float> v(static_cast<std::size_t>(count));
  for (auto& x : v) {
    x = static_cast<float>(rng.uniform() * mul);
  }
  return v;
}

std::vector<float> make_fn(Rng& rng, int rows, int n, std::int64_t hidden) {
  std::vector<float> v(static_cast<std::size_t>(std::int64_t{rows} * n * hidden));
  std::size_t i = 0;
  for (int c = 0; c < rows; ++c) {
    for (int j = 0; j < n; ++j) {
      const double mul = 1e-4 * (1.0 + 0.01 * j);
      for (std::int64_t h = 0; h < hidden; ++h) {
        v[i++] = static_cast<float>(rng.normal() * mul);
      }
    }
  }
  return v;
}

PreInputs make_pre_inputs(const Config& config, std::int64_t tokens, std::uint64_t seed) {
  config.validate();
  check_tokens(tokens);
  Rng rng(seed);
  PreInputs in;
  in.residual = randn_bf16(rng, tokens * config.k());
  in.fn = make_fn(rng, config.mix_count(), config.n(), config.hidden);
  in.scale = randn_f32(rng, 3, 0.1);
  in.base = randn_f32(rng, config.mix_count(), 0.1);
  if (config.norm_eps) {
    in.norm_weight = randn_bf16(rng, config.hidden, 0.1, 1.0);
  }
  return in;
}

PostInputs make_post_inputs(const Config& config, std::int64_t tokens, std::uint64_t seed) {
  config.validate();
  check_tokens(tokens);
  Rng rng(seed);
  PostInputs in;
  in.y = randn_bf16(rng, tokens * config.hidden);
  in.residual = randn_bf16(rng, tokens * config.k());
  in.post_mix = rand_f32(rng, tokens * config.n(), 2.0);
  in.comb_mix = rand_f32(rng, tokens * config.n() * config.n());
  return in;
}

FusedPostPreInputs make_fused_post_pre_inputs(const Config& config, std::int64_t tokens,
                                              std::uint64_t seed) {
  config.validate();
  check_tokens(tokens);
  Rng rng(seed);
  FusedPostPreInputs in;
  in.post.y = randn_bf16(rng, tokens * config.hidden);
  in.post.residual = randn_bf16(rng, tokens * config.k());
  in.post.post_mix = rand_f32(rng, tokens * config.n(), 2.0);
  in.post.comb_mix = rand_f32(rng, tokens * config.n() * config.n());
  in.fn = make_fn(rng, config.mix_count(), config.n(), config.hidden);
  in.scale = randn_f32(rng, 3, 0.1);
  in.base = randn_f32(rng, config.mix_count(), 0.1);
  if (config.norm_eps) {
    in.norm_weight = randn_bf16(rng, config.hidden, 0.1, 1.0);
  }
  return in;
}

BroadcastInputs make_broadcast_inputs(const Config& config, std::int64_t tokens,
                                      std::uint64_t seed) {
  config.validate();
  check_tokens(tokens);
  Rng rng(seed);
  BroadcastInputs in;
  in.embedding = randn_bf16(rng, tokens * config.hidden);
  in.fn = make_fn(rng, config.mix_count(), config.n(), config.hidden);
  in.fn_bcast = ref::broadcast_fn(in.fn, config.n(), config.hidden);
  in.scale = randn_f32(rng, 3, 0.1);
  in.base = randn_f32(rng, config.mix_count(), 0.1);
  in.norm_weight = randn_bf16(rng, config.hidden, 0.1, 1.0);
  return in;
}

HeadInputs make_head_inputs(const Config& config, std::int64_t tokens, std::uint64_t seed) {
  config.validate();
  check_tokens(tokens);
  Rng rng(seed);
  HeadInputs in;
  in.residual = randn_bf16(rng, tokens * config.k());
  in.fn = randn_f32(rng, config.n() * config.k(), 1e-4);
  in.scale = randn_f32(rng, 1, 0.1);
  in.base = randn_f32(rng, config.n(), 0.1);
  return in;
}

std::vector<float> make_sinkhorn_logits(const Config& config, std::int64_t tokens,
                                        std::uint64_t seed) {
  config.validate();
  check_tokens(tokens);
  Rng rng(seed);
  return randn_f32(rng, tokens * config.n() * config.n());
}

} // namespace tessera::mhc::inputs
