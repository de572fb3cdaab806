// Issue 9's goal floors and TileLang figures, as bench/mhc_bench reports them.
#include "bench/mhc_goals.h"

#include <catch2/catch.hpp>

using tessera::bench::mhc_goal_bytes;
using tessera::bench::tilelang_h200_us;

TEST_CASE("goal floors reproduce issue 9's budgets at 4.17 TB/s", "[bench][cpu]") {
  const double bw = 4.17e12; // the H200 copy bandwidth of issue 9's run
  // mhc_pre ≤ 1.2 × two-pass floor = 153 µs; hc_head ≤ 1.3 × one-pass = 92; fused ≤ 1.2 × = 238.
  CHECK(1.2 * mhc_goal_bytes("mhc_pre", 7168, 4096) / bw * 1e6 == Approx(153).epsilon(0.005));
  CHECK(1.3 * mhc_goal_bytes("hc_head", 7168, 4096) / bw * 1e6 == Approx(92).epsilon(0.005));
  CHECK(1.2 * mhc_goal_bytes("mhc_fused_post_pre", 7168, 4096) / bw * 1e6 ==
        Approx(238).epsilon(0.005));
  // mhc_post moves its residual twice (read, write) and y once: 9·T·H·2 bytes plus the mixes.
  CHECK(mhc_goal_bytes("mhc_post", 4096, 16) == 16.0 * 4096 * 18 + 16 * 20 * 4);
  CHECK(mhc_goal_bytes("sinkhorn", 0, 10) == 10 * 16 * 4 * 2);
  CHECK(mhc_goal_bytes("stage_a", 4096, 10) == 0);
}

TEST_CASE("TileLang H200 figures: the issue's grid and nothing else", "[bench][cpu]") {
  CHECK(tilelang_h200_us("mhc_pre", 7168, 4096) == 914);
  CHECK(tilelang_h200_us("hc_head", 4096, 1) == 5.5);
  CHECK(tilelang_h200_us("mhc_post", 7168, 16384) == 508);
  CHECK(tilelang_h200_us("mhc_fused_post_pre", 4096, 128) == 23.3);
  CHECK_FALSE(tilelang_h200_us("mhc_pre", 5120, 4096).has_value());
  CHECK_FALSE(tilelang_h200_us("mhc_pre", 7168, 2).has_value());
  CHECK_FALSE(tilelang_h200_us("sinkhorn", 4096, 16).has_value());
}
