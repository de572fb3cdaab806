// Pass lower_tile_ops: tile IR in, thread-level IR out. Every tile op, parallel loop and
// fragment is gone; what replaces each, for the CUDA and the CPU target.
#include "codegen/target_info.h"
#include "ir_check.h"
#include "pass_test_util.h"

#include <catch2/catch.hpp>

using namespace tessera::dsl;
using tessera::test::check_ir;
using tessera::test::ir_after;
using tessera::test::row_kernel;
namespace cg = tessera::codegen;

TEST_CASE("lower_tile_ops: copies, parallel loops and fragments become per-thread code",
          "[codegen][passes]") {
  const auto k = row_kernel([](TileRef x, TileRef y, Var t) {
    auto f = fragment(f32, {1024}, "f");
    copy(x[t], f);
    parallel({1024}, [&](Var h) { f[h] = f[h] * 2.0f; });
    copy(f, y[t]);
  });
  const std::string ir = ir_after(k, "lower_tile_ops");
  check_ir(ir, R"(
    CHECK: local f: f32[8]
    CHECK: lowered copy x[block_x, 0:+1024] -> f vec=8:
    CHECK-NEXT: let h_ = (thread_idx * 8)
    CHECK-NEXT: if (block_x < T):
    CHECK-NEXT: f[0] = convert x[block_x][h_]  (x8)
    CHECK: lowered parallel (p0) in [1024], distributed over 128 threads (V=8, C=1):
    CHECK-NEXT: for unrolled p0_v in [0, 8):
    CHECK-NEXT: let p0 = ((thread_idx * 8) + p0_v)
    CHECK-NEXT: f[p0_v] = (f[p0_v] * 2.0f)
    CHECK: lowered copy f -> y[block_x, 0:+1024] vec=8:
    CHECK: y[block_x][h_] = convert f[0]  (x8)
    CHECK-COUNT-0: fragment
    CHECK-COUNT-0: in [1024]:
  )");
}

TEST_CASE("lower_tile_ops: a cross-warp reduction", "[codegen][passes]") {
  const auto k = row_kernel([](TileRef x, TileRef, Var t) {
    auto f = fragment(f32, {1024}, "f");
    auto s = fragment(f32, {}, "s");
    copy(x[t], f);
    reduce_sum(f, s, 0);
  });
  check_ir(ir_after(k, "lower_tile_ops"), R"(
    CHECK: lowered reduce_sum f -> s axis=0 clear:
    CHECK: local part_: f32[1]
    CHECK: part_[lead_] = warp_sum(part_[lead_], 32)
    CHECK: shared scratch_: f32[4]
    CHECK: if ((thread_idx % 32) == 0):
    CHECK: scratch_[((thread_idx / 32) + lead_)] = part_[lead_]
    CHECK-NEXT: barrier
    CHECK: for unrolled w_ in [1, 1 + 3):
    CHECK: s[0] = part_[0]
  )");
}

TEST_CASE("lower_tile_ops: gemm is an mma tile on CUDA, loops on the CPU", "[codegen][passes]") {
  KernelBuilder kb("g");
  auto a = kb.input("a", f32, {32, 16});
  auto c = kb.output("c", f32, {32, 16});
  kb.launch(grid(1), threads(64), [&](Var) {
    auto as = shared(f32, {32, 16}, "as");
    auto bs = shared(f32, {16, 16}, "bs");
    auto acc = fragment(f32, {32, 16}, "acc");
    copy(a, as);
    copy(a[range(0, 16)], bs);
    gemm(as, bs, acc, GemmOptions{.clear = true});
    copy(acc, c);
  });
  const auto k = kb.build();
  check_ir(ir_after(k, "lower_tile_ops", &cg::cuda_target()), R"(
    CHECK: lowered gemm as, bs -> acc clear tf32:
    CHECK: acc[r_] = 0.0f
    CHECK-NEXT: mma_tf32 acc += as x bs (M=32 N=16 K=16, warps 2x1, tid=thread_idx)
  )");
  check_ir(ir_after(k, "lower_tile_ops", &cg::cpu_target()), R"(
    CHECK: lowered gemm as, bs -> acc clear tf32:
    CHECK: acc[r_] = 0.0f
    CHECK: for serial k_ in [0, 16):
    CHECK-NEXT: acc[r_] = fma(round_tf32(as[e0_][k_]), round_tf32(bs[k_][e1_]), acc[r_])
    CHECK-COUNT-0: mma_
  )");
}
