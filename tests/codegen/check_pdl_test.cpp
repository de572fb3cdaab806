// Pass check_pdl: the programmatic-dependent-launch rules.
#include "codegen/lower.h"
#include "pass_test_util.h"

#include <catch2/catch.hpp>

using namespace tessera::dsl;
namespace cg = tessera::codegen;

TEST_CASE("check_pdl: global access before pdl_wait is refused", "[codegen][passes][error]") {
  const auto k = tessera::test::row_kernel([](TileRef x, TileRef y, Var t) {
    auto f = fragment(f32, {1024}, "f");
    copy(x[t], f);
    pdl_wait();
    copy(f, y[t]);
  });
  CHECK_THROWS_WITH(cg::lower(k),
                    Catch::Contains("before pdl_wait()") && Catch::Contains("check_pdl_test.cpp"));
}

TEST_CASE("check_pdl: pdl_wait inside a thread range is refused", "[codegen][passes][error]") {
  const auto k = tessera::test::row_kernel([](TileRef x, TileRef y, Var t) {
    thread_range(0, 64, [&] { pdl_wait(); });
    auto f = fragment(f32, {1024}, "f");
    copy(x[t], f);
    copy(f, y[t]);
  });
  CHECK_THROWS_WITH(cg::lower(k), Catch::Contains("inside a thread_range or if_()"));
}

TEST_CASE("check_pdl: wait first, then global memory", "[codegen][passes]") {
  const auto k = tessera::test::row_kernel([](TileRef x, TileRef y, Var t) {
    pdl_wait();
    auto f = fragment(f32, {1024}, "f");
    copy(x[t], f);
    copy(f, y[t]);
    pdl_trigger();
  });
  CHECK_NOTHROW(cg::lower(k));
}
