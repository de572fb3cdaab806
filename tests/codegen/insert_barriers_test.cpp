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

TEST_CASE("insert_barriers: threads' own writes and buffers in scope need none between them",
          "[codegen][passes]") {
  const auto k = row_kernel([](TileRef x, TileRef y, Var t) {
    auto a = shared(f32, {1024}, "a");
    auto b = shared(f32, {1024}, "b");
    auto c = shared(f32, {8}, "c");
    copy(x[t][range(0, 8)], c);
    auto v = local(f32, {8}, "v");
    Expr own = thread_idx() * 8;
    for (int e = 0; e < 8; ++e) {
      v[e] = Expr(c[e]); // RAW on c: barrier
    }
    copy(v, a[range(own, 8)]); // a thread's own elements: WAR against c's reads is no
    copy(v, b[range(own, 8)]); // hazard (other buffers), nor own writes after own writes
    copy(a, y[t]);             // reads every thread's writes: barrier
    a[0] = 1.0f;               // an element store of one place by every thread: barrier
  });
  check_ir(ir_after(k, "insert_barriers"), R"(
    CHECK: copy x[block_x, 0:+8] -> c
    CHECK: barrier
    CHECK-NEXT: v[0] = c[0]
    CHECK: copy v -> a[
    CHECK-NEXT: copy v -> b[
    CHECK-NEXT: barrier
    CHECK-NEXT: copy a -> y[
    CHECK-NEXT: barrier
    CHECK-NEXT: a[0] =
  )");
}

TEST_CASE("insert_barriers: a buffer out of scope may share bytes with a later one",
          "[codegen][passes]") {
  const auto k = row_kernel([](TileRef x, TileRef y, Var t) {
    serial(2, [&](Var) {
      auto a = shared(f32, {1024}, "a");
      copy(x[t], a);
      copy(a, y[t]);
    });
    auto b = shared(f32, {1024}, "b"); // may reuse a's bytes: its write waits for a's readers
    copy(x[t], b);
    copy(b, y[t]);
  });
  check_ir(ir_after(k, "insert_barriers"), R"(
    CHECK: copy a -> y[block_x, 0:+1024]
    CHECK: barrier
    CHECK-NEXT: copy x[block_x, 0:+1024] -> b
  )");
}
