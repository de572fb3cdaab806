// Each lowering pass on small hand-traced kernels: what it decides, and the user errors it
// raises.
#include "base/error.h"
#include "codegen/infer_layouts.h"
#include "codegen/insert_barriers.h"
#include "codegen/lower.h"
#include "codegen/plan_shared_memory.h"
#include "codegen/vectorize_copies.h"
#include "dsl/builder.h"
#include "ir/printer.h"

#include <catch2/catch.hpp>

using namespace tessera::dsl;
namespace ir = tessera::ir;
namespace cg = tessera::codegen;

namespace {

template <class F> ir::Kernel trace(F&& body, int nthreads = 128) {
  KernelBuilder kb("k");
  Dim T = kb.dim("T");
  auto x = kb.input("x", bf16, {T, 1024});
  auto y = kb.output("y", bf16, {T, 1024});
  kb.launch(grid(T), threads(nthreads), [&](Var t) { body(x, y, t); });
  return kb.build();
}

/** The IR text after `pass` (codegen::lower records every pass). */
std::string after(const ir::Kernel& k, const std::string& pass) {
  std::vector<cg::PassRecord> records;
  cg::lower(k, {}, &records);
  for (const cg::PassRecord& r : records) {
    if (r.pass == pass) {
      return r.ir;
    }
  }
  FAIL("no pass " << pass);
  return "";
}

int count(const std::string& s, const std::string& what) {
  int n = 0;
  for (std::size_t i = s.find(what); i != std::string::npos; i = s.find(what, i + 1)) {
    ++n;
  }
  return n;
}

} // namespace

TEST_CASE("infer_layouts: layouts and plans", "[codegen][passes]") {
  const ir::Kernel k = trace([](TileRef x, TileRef y, Var t) {
    auto b = fragment(f32, {1024}, "b");
    auto s = fragment(f32, {4}, "s");
    copy(x[t], b);
    fill(s, 2.0f);
    parallel({1024}, [&](Var h) { b[h] = b[h] * s[0]; });
    copy(b, y[t]);
  });
  const std::string ir = ir::to_string(cg::infer_layouts(k));
  INFO(ir);
  CHECK(ir.find("fragment b: f32[1024]") != std::string::npos);
  CHECK(ir.find("[distributed(P=128, V=8, C=1) regs=8]") != std::string::npos);
  CHECK(ir.find("[replicated regs=4]") != std::string::npos);
  CHECK(ir.find("[distributed over 128 threads (V=8, C=1)]") != std::string::npos);
}

TEST_CASE("infer_layouts: a read against the partition goes through shared memory",
          "[codegen][passes]") {
  const ir::Kernel k = trace([](TileRef x, TileRef y, Var t) {
    auto b = fragment(f32, {1024}, "b");
    auto r = fragment(f32, {1024}, "r");
    copy(x[t], b);
    parallel({1024}, [&](Var h) { r[h] = b[1023 - h]; }); // reversed: not b's partition
    copy(r, y[t]);
  });
  const std::string ir = after(k, "insert_barriers");
  INFO(ir);
  CHECK(ir.find("shared b_smem: f32[1024]") != std::string::npos);
  CHECK(ir.find("copy b -> b_smem") != std::string::npos);
  CHECK(ir.find("r[p0] = b_smem[(1023 - p0)]") != std::string::npos);
  CHECK(count(ir, "barrier") == 1); // between the staging copy and the read
}

TEST_CASE("infer_layouts: a huge replicated fragment is a user error", "[codegen][passes][error]") {
  const ir::Kernel k = trace([](TileRef x, TileRef, Var t) {
    auto b = fragment(f32, {4096}, "big");
    fill(b, 0.0f);
    b[7] = 1.0f; // every thread would store: needs the fragment replicated
    (void)x;
    (void)t;
  });
  CHECK_THROWS_WITH(cg::infer_layouts(k), Catch::Contains("fragment 'big'") &&
                                              Catch::Contains("all 4096 elements") &&
                                              Catch::Contains("passes_test.cpp"));
}

TEST_CASE("infer_layouts: a replicated fragment written in a split loop is refused",
          "[codegen][passes][error]") {
  const ir::Kernel k = trace([](TileRef x, TileRef y, Var t) {
    auto b = fragment(f32, {1024}, "b");
    auto s = fragment(f32, {4}, "s");
    copy(x[t], b);
    parallel({1024}, [&](Var h) { s[0] = b[h]; });
    copy(b, y[t]);
  });
  CHECK_THROWS_WITH(cg::infer_layouts(k), Catch::Contains("fragment 's'") &&
                                              Catch::Contains("not indexed by the loop's"));
}

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
  const std::string ir = after(kb.build(), "vectorize_copies");
  INFO(ir);
  CHECK(ir.find("copy a[block_x, 0:+1024] -> f vec=8") != std::string::npos);
  CHECK(count(ir, "vec=8") == 2);
  CHECK(ir.find("-> g vec=2") != std::string::npos);
}

TEST_CASE("plan_shared_memory: disjoint lifetimes share bytes", "[codegen][passes]") {
  const ir::Kernel k = trace([](TileRef x, TileRef y, Var t) {
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
  const ir::Kernel lowered = cg::lower(k);
  INFO(ir::to_string(lowered));
  CHECK(lowered.shared_bytes == 4096);
  CHECK(count(ir::to_string(lowered), "[smem offset 0]") == 2);
  CHECK(after(k, "vectorize_copies").find("-> s2 vec=8 async") !=
        std::string::npos); // bf16 -> bf16
}

TEST_CASE("insert_barriers: loop-carried reuse gets a barrier", "[codegen][passes]") {
  const ir::Kernel k = trace([](TileRef x, TileRef y, Var t) {
    auto s = shared(f32, {1024}, "s");
    serial(4, [&](Var) {
      copy(x[t], s); // WAR against the previous iteration's reads
      copy(s, y[t]); // RAW
    });
  });
  const std::string ir = after(k, "insert_barriers");
  INFO(ir);
  CHECK(count(ir, "barrier") == 2);
}

TEST_CASE("check_pdl: global access before pdl_wait is refused", "[codegen][passes][error]") {
  const ir::Kernel k = trace([](TileRef x, TileRef y, Var t) {
    auto f = fragment(f32, {1024}, "f");
    copy(x[t], f);
    pdl_wait();
    copy(f, y[t]);
  });
  CHECK_THROWS_WITH(cg::lower(k), Catch::Contains("before pdl_wait()"));
}
