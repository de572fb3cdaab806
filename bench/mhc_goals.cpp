#include "bench/mhc_goals.h"

#include <array>

namespace tessera::bench {

double mhc_goal_bytes(std::string_view op, std::int64_t hidden, std::int64_t tokens, int n) {
  const double T = static_cast<double>(tokens), H = static_cast<double>(hidden);
  const double residual = T * n * H * 2;      // bf16 [T, n, H]
  const double row = T * H * 2;               // bf16 [T, H]
  const double mixes = T * (n + n * n) * 4.0; // f32 post / comb mixes
  const double fn_pre = static_cast<double>(n) * (n + 2) * n * H * 4;
  if (op == "mhc_pre") {
    return 2 * residual + row + fn_pre + mixes;
  }
  if (op == "mhc_post") {
    return 2 * residual + row + mixes;
  }
  if (op == "mhc_fused_post_pre") {
    return 3 * residual + 2 * row + fn_pre + 2 * mixes;
  }
  if (op == "hc_head") {
    return residual + row + static_cast<double>(n) * n * H * 4;
  }
  if (op == "sinkhorn") {
    return 2 * T * n * n * 4.0;
  }
  return 0;
}

namespace {

struct TileLangRow {
  std::string_view op;
  std::int64_t hidden;
  std::array<double, 6> us; // T = 1, 16, 128, 1024, 4096, 16384
};

// Issue 9: vLLM's tilelang_kernels.py wrappers (commit 055e47c2, TileLang 0.1.15; stage A on
// vLLM's TileLang FMA fallback), one H200, graph-replay medians, 2026-12-02.
constexpr std::array<TileLangRow, 8> kTileLangH200{{
    {"mhc_pre", 7168, {10.0, 10.8, 33.1, 226, 914, 3557}},
    {"mhc_pre", 4096, {7.6, 7.9, 20.7, 115, 544, 2106}},
    {"mhc_post", 7168, {3.3, 3.4, 3.9, 34.6, 129.2, 508}},
    {"mhc_post", 4096, {2.1, 2.2, 2.7, 20.0, 74.1, 289}},
    {"mhc_fused_post_pre", 7168, {50.2, 81.8, 36.7, 264, 1041, 4065}},
    {"mhc_fused_post_pre", 4096, {17.6, 47.4, 23.3, 136, 617, 2393}},
    {"hc_head", 7168, {8.2, 8.4, 10.0, 56.3, 196, 747}},
    {"hc_head", 4096, {5.5, 5.5, 6.4, 34.5, 121, 453}},
}};

constexpr std::array<std::int64_t, 6> kTileLangTokens{1, 16, 128, 1024, 4096, 16384};

} // namespace

std::optional<double> tilelang_h200_us(std::string_view op, std::int64_t hidden,
                                       std::int64_t tokens) {
  for (const TileLangRow& r : kTileLangH200) {
    if (r.op != op || r.hidden != hidden) {
      continue;
    }
    for (std::size_t i = 0; i < kTileLangTokens.size(); ++i) {
      if (kTileLangTokens[i] == tokens) {
        return r.us[i];
      }
    }
  }
  return std::nullopt;
}

} // namespace tessera::bench
