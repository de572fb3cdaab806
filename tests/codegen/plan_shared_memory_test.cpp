// Pass plan_shared_memory: offsets on the shared Allocates, bytes reused across disjoint
// lifetimes, the total on the kernel.
#include "codegen/lower.h"
#include "ir/printer.h"
#include "ir_check.h"
#include "pass_test_util.h"

#include <catch2/catch.hpp>

using namespace tessera::dsl;
using tessera::test::check_ir;
namespace cg = tessera::codegen;

TEST_CASE("plan_shared_memory: disjoint lifetimes share bytes", "[codegen][passes]") {
  const auto k = tessera::test::row_kernel([](TileRef x, TileRef y, Var t) {
    serial(2, [&](Var) {
      auto s1 = shared(f32, {1024}, "s1");
      copy(x[t], s1);
      copy(s1, y[t]);
    });
    serial(2, [&](Var) {
      auto s2 = shared(bf16, {1024}, "s2");
      copy(x[t], s2);
      copy(s2, y[t]);
    });
  });
  const tessera::ir::Kernel lowered = cg::lower(k);
  CHECK(lowered.shared_bytes == 4096);
  check_ir(tessera::ir::to_string(lowered), R"(
    CHECK: shared s1: f32[1024]
    CHECK: [smem offset 0]
    CHECK: shared s2: bf16[1024]
    CHECK: [smem offset 0]
    CHECK: shared memory: 4096 bytes
  )");
}

TEST_CASE("plan_shared_memory: live buffers do not overlap", "[codegen][passes]") {
  const auto k = tessera::test::row_kernel([](TileRef x, TileRef y, Var t) {
    auto s1 = shared(f32, {1000}, "s1");
    auto s2 = shared(bf16, {1024}, "s2");
    copy(x[t][range(0, 1000)], s1);
    copy(x[t], s2);
    copy(s2, y[t]);
    copy(s1, y[t][range(0, 1000)]);
  });
  const tessera::ir::Kernel lowered = cg::lower(k);
  CHECK(lowered.shared_bytes == 4000 + 2048);
  check_ir(tessera::ir::to_string(lowered), R"(
    CHECK: shared s1: f32[1000]
    CHECK: [smem offset 0]
    CHECK: shared s2: bf16[1024]
    CHECK: [smem offset 4000]
  )");
}

TEST_CASE("plan_shared_memory: a padded tile occupies its row pitch", "[codegen][passes]") {
  // 8 rows of 128 bf16 padded by 8: 8 * 136 * 2 bytes; the next tile starts after the pad.
  const auto k = tessera::test::row_kernel([](TileRef x, TileRef y, Var t) {
    auto s1 = shared(bf16, {8, 128}, "s1", RowPad{8});
    auto s2 = shared(bf16, {1024}, "s2");
    copy(x[t], s2);
    copy(x[range(t, 8)][range(0, 128)], s1);
    copy(s1[range(0, 1)][all], y[range(t, 1)][range(0, 128)]);
    copy(s2, y[t]);
  });
  const tessera::ir::Kernel lowered = cg::lower(k);
  CHECK(lowered.shared_bytes == 8 * 136 * 2 + 2048);
  check_ir(tessera::ir::to_string(lowered), R"(
    CHECK: shared s1: bf16[8, 128]
    CHECK: [smem offset 0, row pitch 136]
    CHECK: shared s2: bf16[1024]
    CHECK: [smem offset 2176]
  )");
}

TEST_CASE("a negative row pad is a user error", "[codegen][passes]") {
  KernelBuilder kb("k");
  CHECK_THROWS_WITH(
      kb.launch(grid(1), threads(32),
                [&](Var) {
                  shared(f32, {4, 4}, "s", RowPad{-1});
                }),
      Catch::Contains("'s': a row pad needs a tile with rows and must be >= 0 (got -1)"));
}
