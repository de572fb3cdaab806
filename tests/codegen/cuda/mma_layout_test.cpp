// The mma accumulator layout as host algebra: every element owned exactly once, element() and
// locate() inverse to each other, the IR index expressions agree with element(), and the warp
// arrangement choice.
#include "ir/util.h"
#include "ops/mma_layout.h"

#include <catch2/catch.hpp>
#include <cctype>
#include <set>
#include <string>

using namespace tessera::ops;

namespace {

/** The value of an index expression built from constants (the IR builders fold them). */
std::int64_t value(const tessera::ir::Expr& e) {
  const auto* imm = e.as<tessera::ir::IntImm>();
  REQUIRE(imm != nullptr);
  return imm->value;
}

} // namespace

TEST_CASE("mma accumulator layout is a bijection onto the used registers", "[gemm][layout]") {
  struct Case {
    std::int64_t m, n;
    int threads;
  };
  for (Case c : {Case{16, 8, 32}, Case{64, 64, 128}, Case{128, 128, 128}, Case{128, 128, 256},
                 Case{32, 32, 128}, Case{32, 24, 128}, Case{64, 24, 128}, Case{16, 24, 64},
                 Case{128, 64, 256}, Case{48, 40, 96}}) {
    CAPTURE(c.m, c.n, c.threads);
    const MmaTiling t = choose_mma_tiling(c.m, c.n, c.threads);
    MmaAccumulatorMap map(t);
    REQUIRE(t.warps_m * t.warps_n <= c.threads / 32);
    REQUIRE(map.registers() * 32 * t.warps_m * t.warps_n == c.m * c.n);
    std::set<std::pair<std::int64_t, std::int64_t>> seen;
    for (int th = 0; th < c.threads; ++th) {
      for (std::int64_t r = 0; r < map.registers(); ++r) {
        auto e = map.element(th, r);
        if (th / 32 >= t.warps_m * t.warps_n) {
          REQUIRE_FALSE(e.has_value()); // idle warps own nothing
          continue;
        }
        REQUIRE(e.has_value());
        const std::int64_t i = (*e)[0], j = (*e)[1];
        REQUIRE(i >= 0);
        REQUIRE(i < c.m);
        REQUIRE(j >= 0);
        REQUIRE(j < c.n);
        REQUIRE(seen.insert({i, j}).second); // exactly one owner
        REQUIRE(t.locate(i, j) == Slot{th, r});
        // The IR index expressions lowered code uses compute the same index.
        auto ex = map.index(tessera::ir::i32(th), tessera::ir::i32(r));
        REQUIRE(ex.size() == 2);
        REQUIRE(value(ex[0]) == i);
        REQUIRE(value(ex[1]) == j);
      }
      REQUIRE_FALSE(map.element(th, map.registers()).has_value());
    }
    REQUIRE(static_cast<std::int64_t>(seen.size()) == c.m * c.n);
  }
}

TEST_CASE("mma accumulator matches the PTX m16n8 fragment within one warp", "[gemm][layout]") {
  const MmaTiling t = choose_mma_tiling(16, 8, 32);
  // PTX ISA, "Matrix Fragments for mma.m16n8k16": c0,c1 at (groupID, 2*tig + {0,1}),
  // c2,c3 at (groupID + 8, 2*tig + {0,1}), groupID = lane / 4, tig = lane % 4.
  for (int lane = 0; lane < 32; ++lane) {
    for (int r = 0; r < 4; ++r) {
      auto e = t.element(lane, r);
      REQUIRE(e.has_value());
      CHECK((*e)[0] == lane / 4 + (r / 2) * 8);
      CHECK((*e)[1] == (lane % 4) * 2 + r % 2);
    }
  }
}

TEST_CASE("choose_mma_tiling prefers all warps and square warp tiles", "[gemm][layout]") {
  auto t = choose_mma_tiling(128, 128, 128);
  CHECK(t.warps_m == 2);
  CHECK(t.warps_n == 2);
  CHECK(t.registers() == 128);
  t = choose_mma_tiling(128, 256, 256);
  CHECK(t.warps_m * t.warps_n == 8);
  CHECK(t.warp_m() + t.warp_n() == 64 + 64);
  t = choose_mma_tiling(32, 32, 128); // mHC stage A, N = 24 padded to 32
  CHECK(t.warps_m == 2);
  CHECK(t.warps_n == 2);
  t = choose_mma_tiling(32, 24, 128); // N = 24 unpadded: 3 n8 tiles
  CHECK(t.warps_m * t.warps_n == 3);
  CHECK(t.registers() * 32 * 3 == 32 * 24);
  t = choose_mma_tiling(16, 8, 128); // more warps than tiles: one warp works
  CHECK(t.warps_m * t.warps_n == 1);
  CHECK_THROWS(choose_mma_tiling(20, 8, 128));
  CHECK_THROWS(choose_mma_tiling(16, 12, 128));
  CHECK_THROWS(choose_mma_tiling(16, 8, 48));
}

TEST_CASE("mma accumulator Layout is a mapped layout", "[gemm][layout]") {
  const MmaTiling t = choose_mma_tiling(64, 32, 128);
  Layout l = mma_accumulator_layout(t, 64);
  CHECK(l.kind == LayoutKind::mapped);
  CHECK(l.shape == std::vector<std::int64_t>{64, 32});
  CHECK(l.threads == 128);
  CHECK(l.begin == 64);
  REQUIRE(l.map);
  CHECK(l.map->registers() == t.registers());
  CHECK(mma_shape(MmaPath::bf16).k == 16);
  CHECK(mma_shape(MmaPath::tf32).k == 8);
  CHECK(std::string(mma_path_cuda(MmaPath::tf32)) == "tessera::mma::Path::tf32");
}
