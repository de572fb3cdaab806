// Pass vectorize_copies: the plan it records on each copy (vector width, cp.async).
#include "ir_check.h"
#include "pass_test_util.h"

#include <catch2/catch.hpp>

using namespace tessera::dsl;
using tessera::test::check_ir;
using tessera::test::ir_after;

TEST_CASE("vectorize_copies: widths follow provable alignment", "[codegen][passes]") {
  KernelBuilder kb("v");
  Dim T = kb.dim("T");
  auto a = kb.input("a", bf16, {T, 1024});
  auto odd = kb.input("odd", bf16, {T, 1030});
  auto out = kb.output("out", bf16, {T, 1024});
  kb.launch(grid(T), threads(128), [&](Var t) {
    auto f = fragment(f32, {1024}, "f");
    auto g = fragment(f32, {1024}, "g");
    copy(a[t], f);                   // row 2048 B: 16-byte vectors
    copy(odd[t][range(0, 1024)], g); // row 2060 B: only 4-byte alignment provable
    parallel({1024}, [&](Var h) { f[h] = f[h] + g[h]; });
    copy(f, out[t]);
  });
  check_ir(ir_after(kb.build(), "vectorize_copies"), R"(
    CHECK: copy a[block_x, 0:+1024] -> f vec=8
    CHECK-NEXT: copy odd[block_x, 0:+1024] -> g vec=2
    CHECK: copy f -> out[block_x, 0:+1024] vec=8
  )");
}

TEST_CASE("vectorize_copies: global to shared of one dtype is cp.async", "[codegen][passes]") {
  const auto k = tessera::test::row_kernel([](TileRef x, TileRef y, Var t) {
    auto s = shared(bf16, {1024}, "s");
    auto f = shared(f32, {1024}, "f");
    copy(x[t], s); // bf16 -> bf16: asynchronous
    copy(x[t], f); // bf16 -> f32: converts, so synchronous
    copy(s, y[t]);
  });
  check_ir(ir_after(k, "vectorize_copies"), R"(
    CHECK: copy x[block_x, 0:+1024] -> s vec=8 async
    CHECK: copy x[block_x, 0:+1024] -> f vec=8
    CHECK: copy s -> y[block_x, 0:+1024] vec=8
    CHECK-COUNT-1: async
  )");
}
