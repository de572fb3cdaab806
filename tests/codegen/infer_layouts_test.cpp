// Pass infer_layouts: the layouts and parallel plans it records in the IR, the shared-memory
// round trips it inserts, and the user errors it raises.
#include "base/error.h"
#include "codegen/infer_layouts.h"
#include "ir/printer.h"
#include "ir_check.h"
#include "pass_test_util.h"

#include <catch2/catch.hpp>

using namespace tessera::dsl;
using tessera::test::check_ir;
using tessera::test::ir_after;
using tessera::test::row_kernel;
namespace cg = tessera::codegen;

TEST_CASE("infer_layouts: distributed, replicated and a plan per loop", "[codegen][passes]") {
  const auto k = row_kernel([](TileRef x, TileRef y, Var t) {
    auto b = fragment(f32, {1024}, "b");
    auto s = fragment(f32, {4}, "s");
    copy(x[t], b);
    fill(s, 2.0f);
    parallel({1024}, [&](Var h) { b[h] = b[h] * s[0]; });
    copy(b, y[t]);
  });
  check_ir(tessera::ir::to_string(cg::infer_layouts(k)), R"(
    CHECK: fragment b: f32[1024]
    CHECK: [distributed(P=128, V=8, C=1) regs=8]
    CHECK: fragment s: f32[4]
    CHECK: [replicated regs=4]
    CHECK: parallel (p0) in [1024]:
    CHECK: [distributed over 128 threads (V=8, C=1)]
  )");
}

TEST_CASE("infer_layouts: a read against the partition goes through shared memory",
          "[codegen][passes]") {
  const auto k = row_kernel([](TileRef x, TileRef y, Var t) {
    auto b = fragment(f32, {1024}, "b");
    auto r = fragment(f32, {1024}, "r");
    copy(x[t], b);
    parallel({1024}, [&](Var h) { r[h] = b[1023 - h]; }); // reversed: not b's partition
    copy(r, y[t]);
  });
  check_ir(ir_after(k, "infer_layouts"), R"(
    CHECK: copy x[block_x, 0:+1024] -> b
    CHECK-NEXT: shared b_smem: f32[1024]
    CHECK-NEXT: copy b -> b_smem
    CHECK-NEXT: parallel (p0) in [1024]:
    CHECK-NEXT: r[p0] = b_smem[(1023 - p0)]
  )");
}

TEST_CASE("infer_layouts: a loop reading a tensor-core accumulator follows its layout",
          "[codegen][passes]") {
  KernelBuilder kb("epilogue");
  auto a = kb.input("a", bf16, {32, 16});
  auto c = kb.output("c", f32, {32, 16});
  kb.launch(grid(1), threads(64), [&](Var) {
    auto as = shared(bf16, {32, 16}, "as");
    auto bs = shared(bf16, {16, 16}, "bs");
    auto acc = fragment(f32, {32, 16}, "acc");
    copy(a, as);
    copy(a[range(0, 16)], bs);
    gemm(as, bs, acc, GemmOptions{.clear = true});
    // Only reads acc (no self-assignment needed to pick the accumulator's layout).
    parallel({32, 16}, [&](Var m, Var n) { c[m][n] = acc[m][n]; });
  });
  check_ir(ir_after(kb.build(), "infer_layouts"), R"(
    CHECK: fragment acc: f32[32, 16]
    CHECK: [mapped(mma.m16n8
    CHECK: parallel (p0, p1) in [32, 16]:
    CHECK: [mapped over 64 threads
  )");
}

TEST_CASE("infer_layouts: a huge replicated fragment is a user error", "[codegen][passes][error]") {
  const auto k = row_kernel([](TileRef, TileRef, Var) {
    auto b = fragment(f32, {4096}, "big");
    fill(b, 0.0f);
    b[7] = 1.0f; // every thread would store: needs the fragment replicated
  });
  CHECK_THROWS_WITH(cg::infer_layouts(k), Catch::Contains("fragment 'big'") &&
                                              Catch::Contains("all 4096 elements") &&
                                              Catch::Contains("infer_layouts_test.cpp"));
}

TEST_CASE("infer_layouts: per-thread storage is bounded", "[codegen][passes][error]") {
  // 128 threads x 600 floats of one distributed row: 2400 bytes a thread, over the 2 KB limit
  // (NVRTC's time grows without bound past it).
  const auto row = row_kernel([](TileRef, TileRef, Var) {
    auto b = fragment(f32, {128 * 600}, "row"); // too big to replicate: distributed by default
    fill(b, 0.0f);
  });
  CHECK_THROWS_WITH(cg::infer_layouts(row), Catch::Contains("fragment 'row'") &&
                                                Catch::Contains("2400 bytes per thread") &&
                                                Catch::Contains("infer_layouts_test.cpp") &&
                                                Catch::Contains("more threads"));
  const auto local_array = row_kernel([](TileRef, TileRef, Var) {
    auto l = local(f32, {1024}, "scratch");
    l[0] = 1.0f;
  });
  CHECK_THROWS_WITH(cg::infer_layouts(local_array),
                    Catch::Contains("local 'scratch'") && Catch::Contains("4096 bytes"));
  // Six buffers of 1.6 KB each pass one by one but not together (9.6 KB a thread > 8 KB).
  const auto many = row_kernel([](TileRef, TileRef, Var) {
    for (int i = 0; i < 6; ++i) {
      auto b = fragment(f32, {128 * 400}, "part" + std::to_string(i));
      fill(b, 0.0f);
    }
  });
  CHECK_THROWS_WITH(cg::infer_layouts(many),
                    Catch::Contains("9600 bytes per thread") && Catch::Contains("'part5' 1600 B"));
  // At the limit: accepted.
  const auto edge = row_kernel([](TileRef, TileRef, Var) {
    auto b = fragment(f32, {128 * 512}, "row");
    fill(b, 0.0f);
  });
  CHECK_NOTHROW(cg::infer_layouts(edge));
}

TEST_CASE("infer_layouts: a replicated fragment written in a split loop is refused",
          "[codegen][passes][error]") {
  const auto k = row_kernel([](TileRef x, TileRef y, Var t) {
    auto b = fragment(f32, {1024}, "b");
    auto s = fragment(f32, {4}, "s");
    copy(x[t], b);
    parallel({1024}, [&](Var h) { s[0] = b[h]; });
    copy(b, y[t]);
  });
  CHECK_THROWS_WITH(cg::infer_layouts(k), Catch::Contains("fragment 's'") &&
                                              Catch::Contains("not indexed by the loop's"));
}
