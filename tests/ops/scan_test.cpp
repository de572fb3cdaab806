// cumsum (ops/scan): results on the CPU backend against a double reference, its lowering as the
// per-pass tests see it, clean CUDA for sm_80 / sm_90a through NVRTC, and the errors of bad uses.
#include "base/error.h"
#include "base/float16.h"
#include "codegen/ir_check.h"
#include "codegen/target_info.h"
#include "dsl/builder.h"
#include "jit/compiled_kernel.h"
#include "ops/scan_cases.h"
#include "runtime/tensor.h"

#include <catch2/catch.hpp>
#include <limits>

using namespace tessera;
using tessera::test::ScanCase;

namespace {

TensorView host(void* p, DType t, std::initializer_list<std::int64_t> shape) {
  return TensorView(p, t, shape, MemoryKind::host);
}

template <class T> void run_case(const ScanCase& c, std::int64_t tokens) {
  const CompiledKernel k = Runtime::compile(test::scan_kernel(c), Target::cpu);
  std::vector<float> x = test::scan_input(tokens * c.n, 17 + c.n);
  std::vector<T> y(x.size(), T(std::numeric_limits<float>::quiet_NaN())); // poison
  k.launch(nullptr, host(x.data(), DType::f32, {tokens, c.n}),
           host(y.data(), c.out, {tokens, c.n}));
  const std::int64_t bad = test::scan_mismatches(
      x, tokens, c.n, c.out == DType::bf16,
      [&](std::int64_t i) { return static_cast<double>(static_cast<float>(y[i])); },
      [&](std::int64_t t, int i, double g, double want) {
        UNSCOPED_INFO("row " << t << " element " << i << ": got " << g << ", expected " << want);
      });
  CHECK(bad == 0);
}

} // namespace

TEST_CASE("cumsum on the CPU backend matches the exact prefix sums", "[ops][scan][cpu]") {
  for (const ScanCase& c : test::scan_cases()) {
    for (std::int64_t tokens : {std::int64_t{1}, std::int64_t{7}}) {
      INFO(c.name() << " T=" << tokens);
      if (c.out == DType::bf16) {
        run_case<bf16>(c, tokens);
      } else {
        run_case<float>(c, tokens);
      }
    }
  }
}

TEST_CASE("cumsum lowers to a run scan, log2(P) shared rounds and a carry", "[ops][scan]") {
  // 256 threads, V = 4, 4096 elements: a loop over 4 chunks, each with a barrier after the run
  // totals are stored and one after each of the 8 rounds; none anywhere else in the kernel.
  const std::string ir =
      test::ir_after(test::scan_kernel({.n = 4096, .rows = 1, .threads = 256}), "lower_tile_ops");
  test::check_ir(ir, R"(
CHECK: lowered cumsum a -> s:
CHECK: local carry_: f32[1]
CHECK: shared scan_: f32[1024]
CHECK: for unrolled c_ in [0, 4):
CHECK: lowered copy s -> y
CHECK-COUNT-9: barrier
)");
  // One warp, one chunk of V = 2: five rounds, two halves of scratch.
  const std::string one =
      test::ir_after(test::scan_kernel({.n = 64, .rows = 2, .threads = 32}), "lower_tile_ops");
  test::check_ir(one, R"(
CHECK: lowered cumsum a -> s:
CHECK: shared scan_: f32[128]
CHECK-COUNT-6: barrier
)");
}

TEST_CASE("cumsum kernels compile through NVRTC with no local memory", "[ops][scan][nvrtc]") {
  for (const char* arch : {"sm_80", "sm_90a"}) {
    for (const ScanCase& c : test::scan_cases()) {
      INFO(arch << " " << c.name());
      const CompiledKernel k = Runtime::compile_for(test::scan_kernel(c), arch);
      INFO(k.cuda_source());
      CHECK(k.resources().local_bytes == 0);
      CHECK(k.resources().spill_store_bytes == 0);
    }
  }
}

TEST_CASE("cumsum rejects what it cannot scan, naming the operands", "[ops][scan]") {
  using namespace tessera::dsl;
  auto build = [](auto&& body) {
    KernelBuilder kb("bad_cumsum");
    Dim T = kb.dim("T");
    auto x = kb.input("x", f32, {T, 64});
    kb.launch(grid(T), threads(32), [&](Var t) { body(x, t); });
    return kb.build();
  };
  auto message = [](auto&& make) {
    try {
      make();
    } catch (const UserError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(message([&] {
               build([](TileRef&, Var) {
                 auto a = fragment(f32, {64}, "a");
                 auto b = fragment(f32, {32}, "b");
                 cumsum(a, b);
               });
             }),
             Catch::Contains("cumsum of 'a' [64] into 'b' [32]: the shapes differ"));
  CHECK_THAT(message([&] {
               build([](TileRef&, Var) {
                 auto a = fragment(i32, {64}, "a");
                 cumsum(a, a);
               });
             }),
             Catch::Contains("'a' is i32, cumsum takes floating point fragments"));
  CHECK_THAT(message([&] {
               build([](TileRef& x, Var t) {
                 auto a = fragment(f32, {64}, "a");
                 cumsum(x[t][all], a);
               });
             }),
             Catch::Contains("cumsum() takes whole fragments"));
}
