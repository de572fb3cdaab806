/** \file
 * Issue 9's yardsticks for bench/mhc_bench: the bytes each mHC op's algorithm must move (its
 * goal floor) and vLLM's TileLang figures measured on an H200 (2026-12-02), so every benchmark
 * row carries both beside Tessera's time.
 */
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace tessera::bench {

/**
 * Bytes the goal counts for `op` at hidden size H, T tokens and n streams (DeepSeek-V4: n = 4,
 * fn of n(n + 2) rows): `mhc_pre` reads the residual twice (projection, then the collapse whose
 * weights depend on the whole row) and writes the layer input; `mhc_post` reads the residual and
 * y and writes the new residual; `mhc_fused_post_pre` reads y and the residual, writes the new
 * residual, reads it once more and writes the layer input; `hc_head` reads the residual once (its
 * n projection rows let the row stay on chip) and writes [T, H]; `sinkhorn` reads and writes
 * [T, n, n] f32. Weights (fn, read once) and the small f32 mixes count too. 0 for other ops.
 */
double mhc_goal_bytes(std::string_view op, std::int64_t hidden, std::int64_t tokens, int n = 4);

/** vLLM's TileLang kernel time on the H200 for op, H ∈ {4096, 7168} and T ∈ {1, 16, 128, 1024,
 *  4096, 16384} (issue 9's table, graph replay, µs); nullopt elsewhere. */
std::optional<double> tilelang_h200_us(std::string_view op, std::int64_t hidden,
                                       std::int64_t tokens);

} // namespace tessera::bench
