// The CUDA printer and the JIT facade without a GPU: the printed source, NVRTC compiles for
// sm_80 and sm_90a, and ptxas' resource report (no local memory, no spills).
#include "base/error.h"
#include "codegen/cuda/cuda_printer.h"
#include "codegen/infer_layouts.h"
#include "codegen/lower.h"
#include "dsl/builder.h"
#include "examples/kernels.h"
#include "ir/printer.h"
#include "jit/compiled_kernel.h"
#include "tests/codegen/cluster_kernel.h"

#include <catch2/catch.hpp>

using namespace tessera::dsl;
namespace ir = tessera::ir;
namespace cg = tessera::codegen;
using tessera::Runtime;

namespace {

ir::Kernel vector_add() {
  KernelBuilder kb("vector_add");
  Dim n = kb.dim("n");
  auto x = kb.input("x", f32, {n});
  auto y = kb.input("y", f32, {n});
  auto z = kb.output("z", f32, {n});
  kb.launch(grid(ceil_div(n, 1024)), threads(256), [&](Var b) {
    auto a = fragment(f32, {1024}, "a");
    auto c = fragment(f32, {1024}, "c");
    copy(x[tile(b, 1024)], a);
    copy(y[tile(b, 1024)], c);
    parallel({1024}, [&](Var i) { a[i] = a[i] + c[i]; });
    copy(a, z[tile(b, 1024)]);
  });
  return kb.build();
}

/** The traced mhc_post of tests/dsl/builder_test.cpp, with PDL. */
ir::Kernel mhc_post(int hidden, int n) {
  KernelBuilder kb("mhc_post");
  Dim T = kb.dim("num_tokens");
  auto comb = kb.input("comb", f32, {T, n, n});
  auto res = kb.input("residual", bf16, {T, n, hidden});
  auto post = kb.input("post", f32, {T, n});
  auto y = kb.input("y", bf16, {T, hidden});
  auto out = kb.output("out", bf16, {T, n, hidden});
  const int hb = 512;
  kb.launch(grid(T), threads(128), [&](Var t) {
    pdl_wait();
    auto c = fragment(f32, {n, n}, "c");
    copy(comb[t], c);
    auto p = fragment(f32, {n}, "p");
    copy(post[t], p);
    serial(hidden / hb, [&](Var i) {
      auto x = fragment(f32, {n, hb}, "x");
      copy(res[t][all][tile(i, hb)], x);
      auto z = fragment(f32, {hb}, "z");
      copy(y[t][tile(i, hb)], z);
      auto o = fragment(f32, {n, hb}, "o");
      parallel({n, hb}, [&](Var k, Var h) {
        Expr acc = p[k] * z[h];
        for (int j = 0; j < n; ++j) {
          acc = acc + c[j][k] * x[j][h];
        }
        o[k][h] = acc;
      });
      copy(o, out[t][all][tile(i, hb)]);
    });
    pdl_trigger();
  });
  return kb.build();
}

void check_clean(const tessera::CompiledKernel& k) {
  INFO(k.cuda_source());
  INFO(k.program()->log());
  CHECK(k.resources().local_bytes == 0);
  CHECK(k.resources().spill_store_bytes == 0);
  CHECK(k.resources().spill_load_bytes == 0);
  CHECK(k.ptx().find(".local") == std::string::npos);
}

} // namespace

TEST_CASE("vector_add: 16-byte accesses with a predicated tail", "[codegen][emit]") {
  const std::string src = Runtime::emit(vector_add());
  INFO(src);
  CHECK(src.find("extern \"C\" __global__ void __launch_bounds__(256) vector_add(const float* "
                 "__restrict__ x, const float* __restrict__ y, float* __restrict__ z, int n)") !=
        std::string::npos);
  CHECK(src.find("tessera::load_vec<4>(x + ") != std::string::npos);
  CHECK(src.find("tessera::store_vec<4>(z + ") != std::string::npos);
  CHECK(src.find("<= n") != std::string::npos); // vector bounds check against the dynamic dim
  CHECK(src.find("cuda_printer_test.cpp:") != std::string::npos);
}

TEST_CASE("emission is deterministic", "[codegen][emit]") {
  CHECK(Runtime::emit(mhc_post(1024, 4)) == Runtime::emit(mhc_post(1024, 4)));
}

TEST_CASE("mhc_post: layouts in the IR dump, bf16 vectors, replicated comb", "[codegen][emit]") {
  const tessera::ir::Kernel lowered = cg::lower(mhc_post(1024, 4));
  const std::string ir = tessera::ir::to_string(cg::infer_layouts(mhc_post(1024, 4)));
  INFO(ir);
  CHECK(ir.find("fragment c: f32[4, 4]") != std::string::npos);
  CHECK(ir.find("[replicated regs=16]") != std::string::npos);
  CHECK(ir.find("[distributed(P=128, V=8, C=1) regs=32]") != std::string::npos);
  CHECK(ir.find("[distributed over 128 threads (V=8, C=1)]") != std::string::npos);
  const std::string src = cg::print_cuda(lowered);
  INFO(src);
  CHECK(src.find("tessera::load_vec<8>(residual + ") != std::string::npos);
  CHECK(src.find("tessera::store_vec<8>(out + ") != std::string::npos);
  CHECK(src.find("tessera::pdl_wait();") != std::string::npos);
}

TEST_CASE("examples compile through NVRTC with no local memory", "[codegen][nvrtc]") {
  for (const char* arch : {"sm_80", "sm_90a"}) {
    INFO(arch);
    check_clean(Runtime::compile_for(vector_add(), arch));
    const tessera::CompiledKernel post = Runtime::compile_for(mhc_post(4096, 4), arch);
    check_clean(post);
    CHECK(post.timings().passes_ms >= 0);
    CHECK(post.ir_after_passes().size() >= 6);
  }
}

TEST_CASE("example kernels compile for sm_80 and sm_90a", "[codegen][nvrtc]") {
  namespace ex = tessera::examples;
  for (const char* arch : {"sm_80", "sm_90a"}) {
    INFO(arch);
    check_clean(Runtime::compile_for(ex::rmsnorm(4096), arch));
    check_clean(Runtime::compile_for(ex::rmsnorm(4100), arch));
    check_clean(Runtime::compile_for(ex::softmax(1000), arch));
    // sigmoid's IEEE division keeps a slow-path call: ptxas may reserve a small stack frame for
    // it (never used for divisors >= 1), so only the register arrays are checked here.
    const tessera::CompiledKernel tut = Runtime::compile_for(ex::gated_residual(2048), arch);
    CHECK(tut.resources().local_bytes <= 16);
  }
}

TEST_CASE("a compound leading index is parenthesised before it is scaled by the row pitch",
          "[codegen][emit]") {
  // Regression: `s[t / 8 + 16][c]` once printed as `(t >> 3) + 16 * 12 + c`.
  KernelBuilder kb("padded_rows");
  auto out = kb.output("out", f32, {128});
  kb.launch(grid(1), threads(128), [&](Var) {
    auto s = shared(f32, {32, 8}, "s", RowPad{4});
    fill(s, 1.0f);
    Expr t = thread_idx();
    out[t] = s[t / 8 + 16][t % 8];
  });
  const std::string src = Runtime::emit(kb.build());
  INFO(src);
  CHECK(src.find("((thread_idx >> 3) + 16) * 12 + (thread_idx & 7)") != std::string::npos);
  CHECK(src.find("shared [32, 8], row pitch 12") != std::string::npos);
  CHECK(src.find("1536 bytes") != std::string::npos); // 32 rows of 12 f32
}

TEST_CASE("a cluster barrier is emitted as barrier.cluster and needs sm_90", "[codegen][nvrtc]") {
  const tessera::ir::Kernel k = tessera::testing::cluster_exchange_kernel();
  const std::string cuda = Runtime::emit(k);
  CHECK(cuda.find("tessera::cluster_barrier();") != std::string::npos);
  const tessera::CompiledKernel built = Runtime::compile_for(k, "sm_90a");
  CHECK(built.program()->ptx().find("barrier.cluster.arrive.release") != std::string::npos);
  CHECK(built.program()->ptx().find("barrier.cluster.wait.acquire") != std::string::npos);
  CHECK_THROWS_WITH(Runtime::compile_for(k, "sm_80"),
                    Catch::Matchers::Contains("cluster_barrier needs sm_90 or newer"));
}
