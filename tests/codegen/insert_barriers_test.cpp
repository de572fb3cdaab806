// Pass insert_barriers: a barrier wherever threads may read what others wrote to shared memory
// (or overwrite what they may still read), and nowhere else.
#include "ir_check.h"
#include "pass_test_util.h"

#include <catch2/catch.hpp>

using namespace tessera::dsl;
using tessera::test::check_ir;
using tessera::test::ir_after;
using tessera::test::row_kernel;

TEST_CASE("insert_barriers: loop-carried reuse gets a barrier", "[codegen][passes]") {
  const auto k = row_kernel([](TileRef x, TileRef y, Var t) {
    auto s = shared(f32, {1024}, "s");
    serial(4, [&](Var) {
      copy(x[t], s); // WAR against the previous iteration's reads
      copy(s, y[t]); // RAW
    });
  });
  check_ir(ir_after(k, "insert_barriers"), R"(
    CHECK: for serial
    CHECK-NEXT: barrier
    CHECK-NEXT: copy x[block_x, 0:+1024] -> s
    CHECK-NEXT: barrier
    CHECK-NEXT: copy s -> y[block_x, 0:+1024]
    CHECK-COUNT-2: barrier
  )");
}

TEST_CASE("insert_barriers: one barrier between two cross-warp reductions", "[codegen][passes]") {
  const auto k = row_kernel([](TileRef x, TileRef, Var t) {
    auto f = fragment(f32, {1024}, "f");
    auto a = fragment(f32, {}, "a");
    auto b = fragment(f32, {}, "b");
    copy(x[t], f);
    reduce_max(f, a, 0); // writes and reads its scratch; the next one reuses those bytes
    reduce_sum(f, b, 0);
  });
  // The first reduction's own barrier sits between its scratch writes and reads (inside it);
  // the pass adds one before the second reduction, none after it.
  check_ir(ir_after(k, "insert_barriers"), R"(
    CHECK: reduce_max f -> a
    CHECK-NEXT: barrier
    CHECK-NEXT: reduce_sum f -> b
    CHECK-COUNT-1: barrier
  )");
}

TEST_CASE("insert_barriers: unrelated statements get none", "[codegen][passes]") {
  const auto k = row_kernel([](TileRef x, TileRef y, Var t) {
    auto f = fragment(f32, {1024}, "f");
    copy(x[t], f);
    parallel({1024}, [&](Var h) { f[h] = f[h] * 2.0f; });
    copy(f, y[t]);
  });
  check_ir(ir_after(k, "insert_barriers"), "CHECK-COUNT-0: barrier");
}
