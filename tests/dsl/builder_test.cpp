#include "base/error.h"
#include "dsl/builder.h"
#include "ir/printer.h"

#include <catch2/catch.hpp>

using namespace tessera::dsl;
namespace ir = tessera::ir;

namespace {

ir::Kernel mhc_post_like(int hidden, int n) {
  KernelBuilder kb("mhc_post");
  Dim T = kb.dim("num_tokens");
  auto comb = kb.input("comb", f32, {T, n, n});
  auto res = kb.input("residual", bf16, {T, n, hidden});
  auto post = kb.input("post", f32, {T, n});
  auto y = kb.input("y", bf16, {T, hidden});
  auto out = kb.output("out", bf16, {T, n, hidden});
  const int hb = 512;
  kb.launch(grid(T), threads(128), [&](Var t) {
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
  });
  return kb.build();
}

} // namespace

TEST_CASE("the north-star mhc_post traces into readable IR", "[dsl][builder]") {
  const ir::Kernel k = mhc_post_like(1024, 4);
  const std::string text = ir::to_string(k);
  CHECK(text.find("kernel mhc_post(comb: f32[num_tokens, 4, 4]") != std::string::npos);
  CHECK(text.find("out out: bf16[num_tokens, 4, 1024]") != std::string::npos);
  CHECK(text.find("for serial i0 in [0, 2):") != std::string::npos);
  CHECK(text.find("copy residual[block_x, 0:+4, (i0 * 512):+512] -> x") != std::string::npos);
  CHECK(text.find("parallel (p1, p2) in [4, 512]:") != std::string::npos);
  CHECK(text.find("o[p1][p2] = ") != std::string::npos);
  CHECK(text.find("builder_test.cpp:") != std::string::npos);
  INFO(text);
  CHECK(k.params.size() == 5);
  CHECK(k.dims.size() == 1);
}

TEST_CASE("tracing is deterministic", "[dsl][builder]") {
  CHECK(ir::to_string(mhc_post_like(2048, 4)) == ir::to_string(mhc_post_like(2048, 4)));
}

TEST_CASE("DSL statements outside a launch body are refused", "[dsl][builder]") {
  CHECK_THROWS_WITH(fragment(f32, {4}), Catch::Contains("outside a kernel launch body"));
}

TEST_CASE("reading a buffer needs every index", "[dsl][builder]") {
  KernelBuilder kb("bad_read");
  auto x = kb.input("x", f32, {4, 4});
  auto y = kb.output("y", f32, {4, 4});
  CHECK_THROWS_WITH(kb.launch(grid(1), threads(32),
                              [&](Var) {
                                auto f = fragment(f32, {4}, "f");
                                parallel({4}, [&](Var i) { f[i] = x[i]; });
                              }),
                    Catch::Contains("reading buffer 'x'") && Catch::Contains("needs 2 indices"));
  (void)y;
}
