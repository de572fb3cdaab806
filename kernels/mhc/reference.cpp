#include "kernels/mhc/reference.h"

#include "base/error.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <fmt/format.h>
#include <limits>

namespace tessera::mhc::ref {

namespace {

void check_size(const char* op, const char* arg, std::size_t got, std::int64_t expected) {
  if (static_cast<std::int64_t>(got) != expected) {
    throw UserError(fmt::format("mhc::ref::{}: argument '{}' has {} elements, expected {}", op, arg,
                                got, expected));
  }
}

void check_tokens(const char* op, std::int64_t tokens) {
  if (tokens < 0) {
    throw UserError(fmt::format("mhc::ref::{}: token count must be >= 0, got {}", op, tokens));
  }
}

void check_splits(const char* op, int num_splits) {
  if (num_splits < 1) {
    throw UserError(fmt::format("mhc::ref::{}: num_splits must be >= 1, got {}", op, num_splits));
  }
}

void check_norm(const char* op, const Config& config, std::span<const bf16> norm_weight) {
  if (config.norm_eps) {
    check_size(op, "norm_weight", norm_weight.size(), config.hidden);
  } else if (!norm_weight.empty()) {
    throw UserError(fmt::format("mhc::ref::{}: argument 'norm_weight' given but config.norm_eps "
                                "is not set (the fused norm is off)",
                                op));
  }
}

double sigmoid(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

/** pre, post and comb of one token from its summed raw projection (§3.0 steps 2–4). */
struct TokenMixes {
  std::vector<double> pre, post, comb;
};

void token_mixes(const Config& config, std::span<const double> m_raw, double sqrsum,
                 double rms_count, std::span<const float> scale, std::span<const float> base,
                 TokenMixes& out) {
  const int n = config.n();
  const double r = 1.0 / std::sqrt(sqrsum / rms_count + static_cast<double>(config.rms_eps));
  out.pre.assign(n, 0.0);
  out.post.assign(n, 0.0);
  out.comb.assign(static_cast<std::size_t>(n) * n, 0.0);
  for (int j = 0; j < n; ++j) {
    out.pre[j] = sigmoid(m_raw[j] * r * scale[0] + base[j]) + config.hc_pre_eps;
    out.post[j] = sigmoid(m_raw[n + j] * r * scale[1] + base[n + j]) * config.post_mult;
  }
  for (int i = 0; i < n * n; ++i) {
    out.comb[i] = m_raw[2 * n + i] * r * scale[2] + base[2 * n + i];
  }
  sinkhorn_matrix(out.comb, n, config.sinkhorn_iters, config.hc_sinkhorn_eps);
}

/**
 * Collapse of one token, optionally with the fused RMSNorm (§3.3). `stream(j, h)` returns the
 * residual value of stream j at h.
 */
template <typename Stream>
void token_layer_input(const Config& config, std::span<const double> pre, Stream stream,
                       std::span<const bf16> norm_weight, bf16* out) {
  const int n = config.n();
  const std::int64_t hidden = config.hidden;
  if (!config.norm_eps) {
    for (std::int64_t h = 0; h < hidden; ++h) {
      double acc = 0.0;
      for (int j = 0; j < n; ++j) {
        acc += pre[j] * stream(j, h);
      }
      out[h] = round_to_bf16(acc);
    }
    return;
  }
  // Fused norm: statistic from the unrounded collapse, staged bf16 collapse, one final rounding.
  std::vector<bf16> staged(static_cast<std::size_t>(hidden));
  double q = 0.0;
  for (std::int64_t h = 0; h < hidden; ++h) {
    double acc = 0.0;
    for (int j = 0; j < n; ++j) {
      acc += pre[j] * stream(j, h);
    }
    q += acc * acc;
    staged[h] = round_to_bf16(acc);
  }
  const double rho =
      1.0 / std::sqrt(q / static_cast<double>(hidden) + static_cast<double>(*config.norm_eps));
  for (std::int64_t h = 0; h < hidden; ++h) {
    const double v = static_cast<float>(staged[h]);
    out[h] = round_to_bf16((v * rho) * static_cast<float>(norm_weight[h]));
  }
}

/** Sums the split partials of token t in split order (fp64). */
void sum_partials(int num_splits, std::int64_t tokens, int mixes, std::int64_t t,
                  std::span<const float> partial_mix, std::span<const float> partial_sqrsum,
                  std::vector<double>& m_raw, double& sqrsum) {
  m_raw.assign(mixes, 0.0);
  sqrsum = 0.0;
  for (int s = 0; s < num_splits; ++s) {
    sqrsum += partial_sqrsum[s * tokens + t];
    const float* row = partial_mix.data() + (s * tokens + t) * mixes;
    for (int c = 0; c < mixes; ++c) {
      m_raw[c] += row[c];
    }
  }
}

void store_mixes(const TokenMixes& mx, int n, std::int64_t t, std::vector<float>& post_mix,
                 std::vector<float>& comb_mix) {
  for (int j = 0; j < n; ++j) {
    post_mix[t * n + j] = static_cast<float>(mx.post[j]);
  }
  for (int i = 0; i < n * n; ++i) {
    comb_mix[t * n * n + i] = static_cast<float>(mx.comb[i]);
  }
}

} // namespace

float round_to_tf32(float x) {
  std::uint32_t u = std::bit_cast<std::uint32_t>(x);
  if ((u & 0x7f800000u) == 0x7f800000u) {
    return x; // inf or NaN
  }
  // Ties away from zero on the magnitude: add half of the dropped range, then truncate.
  u = (u + 0x1000u) & 0xffffe000u;
  return std::bit_cast<float>(u);
}

bf16 round_to_bf16(double x) {
  if (std::isnan(x)) {
    return bf16::from_bits(float_to_bf16_bits(std::numeric_limits<float>::quiet_NaN()));
  }
  // Round to fp32 with round-to-odd (truncate, then set the sticky lsb when inexact); 24 bits
  // of precision >= 8 + 2, so the following round-to-nearest-even to bf16 equals a direct one.
  float f = static_cast<float>(x);
  if (std::isinf(f) && std::isfinite(x)) {
    f = std::copysign(std::numeric_limits<float>::max(), static_cast<float>(x));
  } else if (static_cast<double>(f) != x) {
    if (std::fabs(static_cast<double>(f)) > std::fabs(x)) {
      f = std::nextafter(f, 0.0f);
    }
    f = std::bit_cast<float>(std::bit_cast<std::uint32_t>(f) | 1u);
  }
  return bf16::from_bits(float_to_bf16_bits(f));
}

Range stage_a_split_range(std::int64_t k, int num_splits, int split) {
  if (num_splits < 1 || split < 0 || split >= num_splits || k < 0) {
    throw UserError(fmt::format("mhc::ref::stage_a_split_range: bad arguments k={}, "
                                "num_splits={}, split={}",
                                k, num_splits, split));
  }
  const std::int64_t nkb = (k + kSplitBlockK - 1) / kSplitBlockK;
  const std::int64_t per = nkb / num_splits;
  const std::int64_t extra = nkb % num_splits;
  const std::int64_t first_block = split * per + std::min<std::int64_t>(split, extra);
  const std::int64_t blocks = per + (split < extra ? 1 : 0);
  return {std::min(k, first_block * kSplitBlockK),
          std::min(k, (first_block + blocks) * kSplitBlockK)};
}

Range fused_split_h_range(std::int64_t hidden, int num_splits, int split) {
  if (num_splits < 1 || split < 0 || split >= num_splits || hidden < 0) {
    throw UserError(fmt::format("mhc::ref::fused_split_h_range: bad arguments hidden={}, "
                                "num_splits={}, split={}",
                                hidden, num_splits, split));
  }
  return {split * hidden / num_splits, (split + 1) * hidden / num_splits};
}

StageAResult stage_a(std::span<const bf16> x, std::span<const float> fn, std::int64_t tokens,
                     std::int64_t k, int mixes, int num_splits, GemmPrecision precision) {
  check_tokens("stage_a", tokens);
  check_splits("stage_a", num_splits);
  if (k < 1 || mixes < 1) {
    throw UserError(
        fmt::format("mhc::ref::stage_a: expected k >= 1 and mixes >= 1, got {} and {}", k, mixes));
  }
  check_size("stage_a", "x", x.size(), tokens * k);
  check_size("stage_a", "fn", fn.size(), mixes * k);
  std::vector<double> w(fn.size());
  for (std::size_t i = 0; i < fn.size(); ++i) {
    w[i] = precision == GemmPrecision::tf32 ? round_to_tf32(fn[i]) : fn[i];
  }
  StageAResult out;
  out.num_splits = num_splits;
  out.tokens = tokens;
  out.mixes = mixes;
  out.mix.assign(static_cast<std::size_t>(num_splits * tokens * mixes), 0.0f);
  out.sqrsum.assign(static_cast<std::size_t>(num_splits * tokens), 0.0f);
  std::vector<double> xd(static_cast<std::size_t>(k));
  for (std::int64_t t = 0; t < tokens; ++t) {
    for (std::int64_t i = 0; i < k; ++i) {
      xd[i] = static_cast<float>(x[t * k + i]);
    }
    for (int s = 0; s < num_splits; ++s) {
      const Range r = stage_a_split_range(k, num_splits, s);
      double sq = 0.0;
      for (std::int64_t i = r.begin; i < r.end; ++i) {
        sq += xd[i] * xd[i];
      }
      out.sqrsum[s * tokens + t] = static_cast<float>(sq);
      for (int c = 0; c < mixes; ++c) {
        const double* wc = w.data() + c * k;
        double acc = 0.0;
        for (std::int64_t i = r.begin; i < r.end; ++i) {
          acc += xd[i] * wc[i];
        }
        out.mix[(s * tokens + t) * mixes + c] = static_cast<float>(acc);
      }
    }
  }
  return out;
}

void reduce_stage_a(const StageAResult& a, std::vector<float>& mix, std::vector<float>& sqrsum) {
  mix.assign(static_cast<std::size_t>(a.tokens * a.mixes), 0.0f);
  sqrsum.assign(static_cast<std::size_t>(a.tokens), 0.0f);
  std::vector<double> m;
  for (std::int64_t t = 0; t < a.tokens; ++t) {
    double sq = 0.0;
    sum_partials(a.num_splits, a.tokens, a.mixes, t, a.mix, a.sqrsum, m, sq);
    sqrsum[t] = static_cast<float>(sq);
    for (int c = 0; c < a.mixes; ++c) {
      mix[t * a.mixes + c] = static_cast<float>(m[c]);
    }
  }
}

void sinkhorn_matrix(std::span<double> c, int n, int iters, double eps) {
  if (n < 1 || iters < 1 || static_cast<std::int64_t>(c.size()) != std::int64_t{n} * n) {
    throw UserError(fmt::format("mhc::ref::sinkhorn_matrix: expected n >= 1, iters >= 1 and "
                                "n*n values; got n={}, iters={}, {} values",
                                n, iters, c.size()));
  }
  auto row_softmax = [&] {
    for (int j = 0; j < n; ++j) {
      double mx = c[j * n];
      for (int k = 1; k < n; ++k) {
        mx = std::max(mx, c[j * n + k]);
      }
      double sum = 0.0;
      for (int k = 0; k < n; ++k) {
        c[j * n + k] = std::exp(c[j * n + k] - mx);
        sum += c[j * n + k];
      }
      for (int k = 0; k < n; ++k) {
        c[j * n + k] = c[j * n + k] / sum + eps;
      }
    }
  };
  auto row_norm = [&] {
    for (int j = 0; j < n; ++j) {
      double sum = 0.0;
      for (int k = 0; k < n; ++k) {
        sum += c[j * n + k];
      }
      for (int k = 0; k < n; ++k) {
        c[j * n + k] /= sum + eps;
      }
    }
  };
  auto col_norm = [&] {
    for (int k = 0; k < n; ++k) {
      double sum = 0.0;
      for (int j = 0; j < n; ++j) {
        sum += c[j * n + k];
      }
      for (int j = 0; j < n; ++j) {
        c[j * n + k] /= sum + eps;
      }
    }
  };
  row_softmax();
  col_norm();
  for (int it = 1; it < iters; ++it) {
    row_norm();
    col_norm();
  }
}

std::vector<float> sinkhorn(std::span<const float> logits, std::int64_t tokens, int n, int iters,
                            float eps) {
  check_tokens("sinkhorn", tokens);
  if (n < 1 || iters < 1) {
    throw UserError(
        fmt::format("mhc::ref::sinkhorn: expected n >= 1 and iters >= 1, got {} / {}", n, iters));
  }
  check_size("sinkhorn", "logits", logits.size(), tokens * n * n);
  std::vector<float> out(logits.size());
  std::vector<double> c(static_cast<std::size_t>(n) * n);
  for (std::int64_t t = 0; t < tokens; ++t) {
    for (int i = 0; i < n * n; ++i) {
      c[i] = logits[t * n * n + i];
    }
    sinkhorn_matrix(c, n, iters, eps);
    for (int i = 0; i < n * n; ++i) {
      out[t * n * n + i] = static_cast<float>(c[i]);
    }
  }
  return out;
}

std::vector<bf16> collapse(std::span<const bf16> residual, std::span<const float> pre,
                           std::int64_t tokens, int n, std::int64_t hidden) {
  check_tokens("collapse", tokens);
  check_size("collapse", "residual", residual.size(), tokens * n * hidden);
  check_size("collapse", "pre", pre.size(), tokens * n);
  std::vector<bf16> out(static_cast<std::size_t>(tokens * hidden));
  for (std::int64_t t = 0; t < tokens; ++t) {
    for (std::int64_t h = 0; h < hidden; ++h) {
      double acc = 0.0;
      for (int j = 0; j < n; ++j) {
        acc += static_cast<double>(pre[t * n + j]) *
               static_cast<float>(residual[(t * n + j) * hidden + h]);
      }
      out[t * hidden + h] = round_to_bf16(acc);
    }
  }
  return out;
}

PreResult big_fuse(const Config& config, std::int64_t tokens, int num_splits,
                   std::span<const float> partial_mix, std::span<const float> partial_sqrsum,
                   std::span<const float> scale, std::span<const float> base,
                   std::span<const bf16> residual, std::span<const bf16> norm_weight) {
  config.validate();
  check_tokens("big_fuse", tokens);
  check_splits("big_fuse", num_splits);
  const int n = config.n();
  const int m3 = config.mix_count();
  const std::int64_t hidden = config.hidden;
  check_size("big_fuse", "partial_mix", partial_mix.size(), num_splits * tokens * m3);
  check_size("big_fuse", "partial_sqrsum", partial_sqrsum.size(), num_splits * tokens);
  check_size("big_fuse", "scale", scale.size(), 3);
  check_size("big_fuse", "base", base.size(), m3);
  check_size("big_fuse", "residual", residual.size(), tokens * n * hidden);
  check_norm("big_fuse", config, norm_weight);

  PreResult out;
  out.post_mix.assign(static_cast<std::size_t>(tokens * n), 0.0f);
  out.comb_mix.assign(static_cast<std::size_t>(tokens * n * n), 0.0f);
  out.layer_input.assign(static_cast<std::size_t>(tokens * hidden), bf16{});
  std::vector<double> m_raw;
  TokenMixes mx;
  for (std::int64_t t = 0; t < tokens; ++t) {
    double sq = 0.0;
    sum_partials(num_splits, tokens, m3, t, partial_mix, partial_sqrsum, m_raw, sq);
    token_mixes(config, m_raw, sq, static_cast<double>(config.k()), scale, base, mx);
    store_mixes(mx, n, t, out.post_mix, out.comb_mix);
    const bf16* x = residual.data() + t * n * hidden;
    token_layer_input(
        config, mx.pre,
        [&](int j, std::int64_t h) { return static_cast<double>(float(x[j * hidden + h])); },
        norm_weight, out.layer_input.data() + t * hidden);
  }
  return out;
}

ResidualPreResult big_fuse_broadcast(const Config& config, std::int64_t tokens, int num_splits,
                                     std::span<const float> partial_mix,
                                     std::span<const float> partial_sqrsum,
                                     std::span<const float> scale, std::span<const float> base,
                                     std::span<const bf16> embedding,
                                     std::span<const bf16> norm_weight) {
  config.validate();
  check_tokens("big_fuse_broadcast", tokens);
  check_splits("big_fuse_broadcast", num_splits);
  if (!config.norm_eps) {
    throw UserError("mhc::ref::big_fuse_broadcast: the broadcast variant requires the fused "
                    "norm (config.norm_eps must be set)");
  }
  const int n = config.n();
  const int m3 = config.mix_count();
  const std::int64_t hidden = config.hidden;
  check_size("big_fuse_broadcast", "partial_mix", partial_mix.size(), num_splits * tokens * m3);
  check_size("big_fuse_broadcast", "partial_sqrsum", partial_sqrsum.size(), num_splits * tokens);
  check_size("big_fuse_broadcast", "scale", scale.size(), 3);
  check_size("big_fuse_broadcast", "base", base.size(), m3);
  check_size("big_fuse_broadcast", "embedding", embedding.size(), tokens * hidden);
  check_norm("big_fuse_broadcast", config, norm_weight);

  ResidualPreResult out;
  out.residual.assign(static_cast<std::size_t>(tokens * n * hidden), bf16{});
  out.post_mix.assign(static_cast<std::size_t>(tokens * n), 0.0f);
  out.comb_mix.assign(static_cast<std::size_t>(tokens * n * n), 0.0f);
  out.layer_input.assign(static_cast<std::size_t>(tokens * hidden), bf16{});
  std::vector<double> m_raw;
  TokenMixes mx;
  for (std::int64_t t = 0; t < tokens; ++t) {
    double sq = 0.0;
    sum_partials(num_splits, tokens, m3, t, partial_mix, partial_sqrsum, m_raw, sq);
    // Σ over n·H of the replicated residual is n·Σ_h E², so S/(n·H) = Σ_h E² / H.
    token_mixes(config, m_raw, sq, static_cast<double>(hidden), scale, base, mx);
    store_mixes(mx, n, t, out.post_mix, out.comb_mix);
    const bf16* e = embedding.data() + t * hidden;
    for (int j = 0; j < n; ++j) {
      std::copy(e, e + hidden, out.residual.data() + (t * n + j) * hidden);
    }
    token_layer_input(
        config, mx.pre, [&](int, std::int64_t h) { return static_cast<double>(float(e[h])); },
        norm_weight, out.layer_input.data() + t * hidden);
  }
  return out;
}

std::vector<float> broadcast_fn(std::span<const float> fn, int n, std::int64_t hidden) {
  if (n < 1 || hidden < 1) {
    throw UserError(fmt::format(
        "mhc::ref::broadcast_fn: expected n >= 1 and hidden >= 1, got {} / {}", n, hidden));
  }
  const std::int64_t m3 = std::int64_t{n} * (n + 2);
  check_size("broadcast_fn", "fn", fn.size(), m3 * n * hidden);
  std::vector<float> out(static_cast<std::size_t>(m3 * hidden));
  for (std::int64_t c = 0; c < m3; ++c) {
    for (std::int64_t h = 0; h < hidden; ++h) {
      double acc = 0.0;
      for (int j = 0; j < n; ++j) {
        acc += fn[(c * n + j) * hidden + h];
      }
      out[c * hidden + h] = static_cast<float>(acc);
    }
  }
  return out;
}

PreResult mhc_pre(const Config& config, std::int64_t tokens, std::span<const bf16> residual,
                  std::span<const float> fn, std::span<const float> scale,
                  std::span<const float> base, std::span<const bf16> norm_weight, int num_splits) {
  config.validate();
  check_tokens("mhc_pre", tokens);
  const int m3 = config.mix_count();
  check_size("mhc_pre", "residual", residual.size(), tokens * config.k());
  check_size("mhc_pre", "fn", fn.size(), m3 * config.k());
  StageAResult a = stage_a(residual, fn, tokens, config.k(), m3, num_splits, config.gemm_precision);
  PreResult out =
      big_fuse(config, tokens, num_splits, a.mix, a.sqrsum, scale, base, residual, norm_weight);
  out.stage_a = std::move(a);
  return out;
}

ResidualPreResult mhc_pre_broadcast(const Config& config, std::int64_t tokens,
                                    std::span<const bf16> embedding,
                                    std::span<const float> fn_bcast, std::span<const float> scale,
                                    std::span<const float> base, std::span<const bf16> norm_weight,
                                    int num_splits) {
  config.validate();
  check_tokens("mhc_pre_broadcast", tokens);
  const int m3 = config.mix_count();
  check_size("mhc_pre_broadcast", "embedding", embedding.size(), tokens * config.hidden);
  check_size("mhc_pre_broadcast", "fn_bcast", fn_bcast.size(), m3 * config.hidden);
  StageAResult a =
      stage_a(embedding, fn_bcast, tokens, config.hidden, m3, num_splits, config.gemm_precision);
  ResidualPreResult out = big_fuse_broadcast(config, tokens, num_splits, a.mix, a.sqrsum, scale,
                                             base, embedding, norm_weight);
  out.stage_a = std::move(a);
  return out;
}

std::vector<bf16> mhc_post(const Config& config, std::int64_t tokens, std::span<const bf16> y,
                           std::span<const bf16> residual, std::span<const float> post_mix,
                           std::span<const float> comb_mix) {
  config.validate();
  check_tokens("mhc_post", tokens);
  const int n = config.n();
  const std::int64_t hidden = config.hidden;
  check_size("mhc_post", "y", y.size(), tokens * hidden);
  check_size("mhc_post", "residual", residual.size(), tokens * n * hidden);
  check_size("mhc_post", "post_mix", post_mix.size(), tokens * n);
  check_size("mhc_post", "comb_mix", comb_mix.size(), tokens * n * n);
  std::vector<bf16> out(residual.size());
  for (std::int64_t t = 0; t < tokens; ++t) {
    const float* c = comb_mix.data() + t * n * n;
    const float* p = post_mix.data() + t * n;
    const bf16* x = residual.data() + t * n * hidden;
    const bf16* yt = y.data() + t * hidden;
    for (int k = 0; k < n; ++k) {
      for (std::int64_t h = 0; h < hidden; ++h) {
        double acc = static_cast<double>(p[k]) * static_cast<float>(yt[h]);
        for (int j = 0; j < n; ++j) {
          acc += static_cast<double>(c[j * n + k]) * static_cast<float>(x[j * hidden + h]);
        }
        out[(t * n + k) * hidden + h] = round_to_bf16(acc);
      }
    }
  }
  return out;
}

ResidualPreResult mhc_fused_post_pre(const Config& config, std::int64_t tokens,
                                     std::span<const bf16> y, std::span<const bf16> residual,
                                     std::span<const float> post_mix,
                                     std::span<const float> comb_mix, std::span<const float> fn,
                                     std::span<const float> scale, std::span<const float> base,
                                     std::span<const bf16> norm_weight, int num_splits) {
  ResidualPreResult out;
  out.residual = mhc_post(config, tokens, y, residual, post_mix, comb_mix);
  PreResult pre = mhc_pre(config, tokens, out.residual, fn, scale, base, norm_weight, num_splits);
  out.post_mix = std::move(pre.post_mix);
  out.comb_mix = std::move(pre.comb_mix);
  out.layer_input = std::move(pre.layer_input);
  out.stage_a = std::move(pre.stage_a);
  return out;
}

ResidualPreResult
mhc_fused_post_pre_single_pass(const Config& config, std::int64_t tokens, std::span<const bf16> y,
                               std::span<const bf16> residual, std::span<const float> post_mix,
                               std::span<const float> comb_mix, std::span<const float> fn,
                               std::span<const float> scale, std::span<const float> base,
                               std::span<const bf16> norm_weight, int num_splits) {
  const char* op = "mhc_fused_post_pre_single_pass";
  config.validate();
  check_tokens(op, tokens);
  check_splits(op, num_splits);
  const int n = config.n();
  const int m3 = config.mix_count();
  const std::int64_t hidden = config.hidden;
  check_size(op, "y", y.size(), tokens * hidden);
  check_size(op, "residual", residual.size(), tokens * n * hidden);
  check_size(op, "post_mix", post_mix.size(), tokens * n);
  check_size(op, "comb_mix", comb_mix.size(), tokens * n * n);
  check_size(op, "fn", fn.size(), m3 * config.k());

  ResidualPreResult out;
  out.residual.assign(residual.size(), bf16{});
  StageAResult& a = out.stage_a;
  a.num_splits = num_splits;
  a.tokens = tokens;
  a.mixes = m3;
  a.mix.assign(static_cast<std::size_t>(num_splits * tokens * m3), 0.0f);
  a.sqrsum.assign(static_cast<std::size_t>(num_splits * tokens), 0.0f);
  std::vector<double> r_new(static_cast<std::size_t>(n * hidden));
  for (std::int64_t t = 0; t < tokens; ++t) {
    const float* c = comb_mix.data() + t * n * n;
    const float* p = post_mix.data() + t * n;
    const bf16* x = residual.data() + t * n * hidden;
    const bf16* yt = y.data() + t * hidden;
    for (int k = 0; k < n; ++k) {
      for (std::int64_t h = 0; h < hidden; ++h) {
        double acc = static_cast<double>(p[k]) * static_cast<float>(yt[h]);
        for (int j = 0; j < n; ++j) {
          acc += static_cast<double>(c[j * n + k]) * static_cast<float>(x[j * hidden + h]);
        }
        r_new[k * hidden + h] = acc;
        out.residual[(t * n + k) * hidden + h] = round_to_bf16(acc);
      }
    }
    for (int s = 0; s < num_splits; ++s) {
      const Range hr = fused_split_h_range(hidden, num_splits, s);
      double sq = 0.0;
      for (int j = 0; j < n; ++j) {
        for (std::int64_t h = hr.begin; h < hr.end; ++h) {
          sq += r_new[j * hidden + h] * r_new[j * hidden + h];
        }
      }
      a.sqrsum[s * tokens + t] = static_cast<float>(sq);
      for (int cc = 0; cc < m3; ++cc) {
        double acc = 0.0;
        for (int j = 0; j < n; ++j) {
          const float* w = fn.data() + cc * config.k() + j * hidden;
          for (std::int64_t h = hr.begin; h < hr.end; ++h) {
            acc += static_cast<double>(w[h]) * r_new[j * hidden + h];
          }
        }
        a.mix[(s * tokens + t) * m3 + cc] = static_cast<float>(acc);
      }
    }
  }
  PreResult pre =
      big_fuse(config, tokens, num_splits, a.mix, a.sqrsum, scale, base, out.residual, norm_weight);
  out.post_mix = std::move(pre.post_mix);
  out.comb_mix = std::move(pre.comb_mix);
  out.layer_input = std::move(pre.layer_input);
  return out;
}

std::vector<bf16> hc_head(const Config& config, std::int64_t tokens, std::span<const bf16> residual,
                          std::span<const float> fn_head, std::span<const float> scale,
                          std::span<const float> base) {
  config.validate();
  check_tokens("hc_head", tokens);
  const int n = config.n();
  const std::int64_t hidden = config.hidden;
  const std::int64_t k = config.k();
  check_size("hc_head", "residual", residual.size(), tokens * k);
  check_size("hc_head", "fn_head", fn_head.size(), n * k);
  check_size("hc_head", "scale", scale.size(), 1);
  check_size("hc_head", "base", base.size(), n);
  std::vector<bf16> out(static_cast<std::size_t>(tokens * hidden));
  std::vector<double> xd(static_cast<std::size_t>(k));
  std::vector<double> pre(n);
  for (std::int64_t t = 0; t < tokens; ++t) {
    double sq = 0.0;
    for (std::int64_t i = 0; i < k; ++i) {
      xd[i] = static_cast<float>(residual[t * k + i]);
      sq += xd[i] * xd[i];
    }
    const double r = 1.0 / std::sqrt(sq / static_cast<double>(k) + config.rms_eps);
    for (int j = 0; j < n; ++j) {
      double m = 0.0;
      for (std::int64_t i = 0; i < k; ++i) {
        m += xd[i] * fn_head[j * k + i];
      }
      pre[j] = sigmoid(m * r * scale[0] + base[j]) + config.hc_pre_eps;
    }
    for (std::int64_t h = 0; h < hidden; ++h) {
      double acc = 0.0;
      for (int j = 0; j < n; ++j) {
        acc += pre[j] * xd[j * hidden + h];
      }
      out[t * hidden + h] = round_to_bf16(acc);
    }
  }
  return out;
}

} // namespace tessera::mhc::ref
