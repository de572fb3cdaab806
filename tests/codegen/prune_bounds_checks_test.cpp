// Pass prune_bounds_checks: guards the launch makes true in every thread disappear; guards that
// can fail in some block stay.
#include "ir_check.h"
#include "pass_test_util.h"

#include <catch2/catch.hpp>

using namespace tessera::dsl;
using tessera::test::check_ir;
using tessera::test::ir_after;
using tessera::test::row_kernel;

TEST_CASE("prune_bounds_checks: block_x < T under grid(T) is true in every block",
          "[codegen][passes]") {
  const auto k = row_kernel([](TileRef x, TileRef y, Var t) {
    auto f = fragment(f32, {1024}, "f");
    copy(x[t], f);
    copy(f, y[t]);
  });
  // Before the pass every vector of the row is guarded; after it the copies run unguarded.
  check_ir(ir_after(k, "lower_tile_ops"), R"(
    CHECK: if (block_x < T):
  )");
  check_ir(ir_after(k, "prune_bounds_checks"), R"(
    CHECK: lowered copy x[block_x, 0:+1024] -> f vec=8:
    CHECK-NEXT: let h_ = (thread_idx * 8)
    CHECK-NEXT: f[0] = convert x[block_x][h_]  (x8)
    CHECK-COUNT-0: if (block_x < T)
  )");
}

TEST_CASE("prune_bounds_checks: whole H tiles under a constant tile grid drop the H check",
          "[codegen][passes]") {
  auto tiled = [](int hidden) {
    KernelBuilder kb("k");
    Dim T = kb.dim("T");
    auto x = kb.input("x", bf16, {T, hidden});
    auto y = kb.output("y", bf16, {T, hidden});
    const int tiles = (hidden + 255) / 256;
    kb.launch(grid(T, tiles), threads(32), [&](Var t, Var hb) {
      auto f = fragment(f32, {256}, "f");
      copy(x[t][tile(hb, 256)], f);
      parallel({256}, [&](Var h) { f[h] = f[h] * 2.0f; }); // distributes f over the threads
      copy(f, y[t][tile(hb, 256)]);
    });
    return kb.build();
  };
  // 1024 = 4 whole tiles: block_y * 256 + thread_idx * 8 + 8 <= 1024 for block_y < 4, thread < 32.
  check_ir(ir_after(tiled(1024), "prune_bounds_checks"), R"(
    CHECK: lowered copy x[block_x, (block_y * 256):+256] -> f vec=8:
    CHECK-COUNT-0: if (
  )");
  // 1000: the last tile is cut, so its vectors stay guarded (with the element-wise tail).
  check_ir(ir_after(tiled(1000), "prune_bounds_checks"), R"(
    CHECK: lowered copy x[block_x, (block_y * 256):+256] -> f vec=8:
    CHECK: <= 1000)
    CHECK-COUNT-0: block_x < T
  )");
}

TEST_CASE("prune_bounds_checks: an index past the grid keeps its guard", "[codegen][passes]") {
  // Two rows per block: row 2·block_x + 1 may be T for odd T.
  KernelBuilder kb("k");
  Dim T = kb.dim("T");
  auto x = kb.input("x", bf16, {T, 1024});
  auto y = kb.output("y", bf16, {T, 1024});
  kb.launch(grid(ceil_div(T, Expr(2))), threads(128), [&](Var b) {
    auto f = fragment(f32, {2, 1024}, "f");
    copy(x[range(b * 2, 2)][all], f);
    copy(f, y[range(b * 2, 2)][all]);
  });
  check_ir(ir_after(kb.build(), "prune_bounds_checks"), R"(
    CHECK: lowered copy
    CHECK: < T)
  )");
}

TEST_CASE("prune_bounds_checks: a loop of bounded trip count over a split's whole tiles",
          "[codegen][passes]") {
  // Block s walks its share of 14 H tiles of 256 (4 or 3 each over 4 splits, a Select), the
  // tile index clamped to the last tile as mHC's split ranges do: whole tiles, no H guard. The
  // unclamped index (begin + i, up to 3·4 + 3 = 15 by intervals) keeps it.
  auto split = [](bool clamp) {
    KernelBuilder kb("k");
    Dim T = kb.dim("T");
    auto x = kb.input("x", bf16, {T, 14 * 256});
    auto y = kb.output("y", bf16, {T, 4});
    kb.launch(grid(T, 4), threads(32), [&](Var t, Var s) {
      Expr begin = s * 3 + min(s, Expr(2));
      Expr count = Expr(3) + select(s < 2, Expr(1), Expr(0));
      auto acc = fragment(f32, {256}, "acc");
      clear(acc);
      serial(count, [&](Var i) {
        Expr blk = clamp ? min(begin + i, Expr(13)) : begin + i;
        auto f = fragment(f32, {256}, "f");
        copy(x[t][tile(blk, 256)], f);
        parallel({256}, [&](Var h) { acc[h] = acc[h] + f[h]; });
      });
      auto total = fragment(f32, {}, "total");
      reduce_sum(acc, total, 0);
      y[t][s] = Expr(total);
    });
    return kb.build();
  };
  check_ir(ir_after(split(true), "prune_bounds_checks"), R"(
    CHECK: lowered copy x[block_x, (min
    CHECK-COUNT-0: <= 3584)
  )");
  check_ir(ir_after(split(false), "prune_bounds_checks"), R"(
    CHECK: lowered copy x[block_x, (
    CHECK: <= 3584)
  )");
}
