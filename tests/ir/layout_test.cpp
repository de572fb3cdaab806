// Layout algebra as pure host code (CuTe-style): every element has exactly one owner slot, and
// locate() and element() are inverse.
#include "ir/layout.h"

#include <catch2/catch.hpp>
#include <set>

using namespace tessera::ir;

namespace {

void check_bijection(const Layout& l) {
  std::set<std::pair<int, std::int64_t>> seen;
  std::int64_t held = 0;
  for (int t = 0; t < l.threads; ++t) {
    for (std::int64_t r = 0; r < l.registers(); ++r) {
      auto e = l.element(t, r);
      if (!e) {
        continue;
      }
      ++held;
      const Slot s = l.locate(*e);
      REQUIRE(s.thread == t);
      REQUIRE(s.reg == r);
      REQUIRE(seen.insert({t, r}).second);
    }
  }
  CHECK(held == l.numel());
}

} // namespace

TEST_CASE("distributed layout: the documented formula", "[codegen][layout]") {
  const Layout l = Layout::distributed({4, 512}, 128, 8);
  CHECK(l.chunks == 1);
  CHECK(l.registers() == 32);
  // h = (c*P + t)*V + v: element [2][19] is slot 2 (t = 2), v = 3, register 2*8 + 3.
  CHECK(l.locate({2, 19}) == Slot{2, 19});
  CHECK(l.locate({0, 8}) == Slot{1, 0});
  CHECK(l.locate({3, 511}) == Slot{63, 3 * 8 + 7});
  CHECK_FALSE(l.element(64, 0).has_value()); // threads 64.. hold only tail slots
  check_bijection(l);
}

TEST_CASE("distributed layout with several chunks", "[codegen][layout]") {
  const Layout l = Layout::distributed({4096}, 128, 8);
  CHECK(l.chunks == 4);
  CHECK(l.registers() == 32);
  // Element 1024 + 8*5 + 1: chunk 1, thread 5, lane 1.
  CHECK(l.locate({1024 + 41}) == Slot{5, 1 * 8 + 1});
  check_bijection(l);
}

TEST_CASE("distributed layout with a tail", "[codegen][layout]") {
  const Layout l = Layout::distributed({3, 1000}, 96, 4, 32);
  CHECK(l.chunks == 3);
  CHECK(l.begin == 32);
  check_bijection(l);
  CHECK(l.str() == "distributed(P=96 from 32, V=4, C=3) regs=36");
}

TEST_CASE("replicated layout: every thread, row-major registers", "[codegen][layout]") {
  const Layout l = Layout::replicated({4, 4});
  CHECK(l.registers() == 16);
  CHECK(l.locate({2, 3}) == Slot{-1, 11});
  CHECK(*l.element(7, 11) == std::vector<std::int64_t>{2, 3});
}

TEST_CASE("vector width targets 16-byte accesses", "[codegen][layout]") {
  CHECK(choose_vector_width(4096, 2) == 8);
  CHECK(choose_vector_width(4096, 4) == 4);
  CHECK(choose_vector_width(4096, 0) == 4);
  CHECK(choose_vector_width(3, 2) == 4);
  CHECK(choose_vector_width(1, 2) == 1);
}

namespace {
/** A toy mapped layout: thread t holds elements [t][0..1] of an 8x2 tile. */
class Rows : public FragmentMap {
public:
  std::string name() const override { return "rows"; }
  std::int64_t registers() const override { return 2; }
  std::optional<std::vector<std::int64_t>> element(int t, std::int64_t r) const override {
    return std::vector<std::int64_t>{t, r};
  }
  std::vector<Expr> index(const Expr& tid, const Expr& r) const override { return {tid, r}; }
};
} // namespace

TEST_CASE("mapped layouts defer to their FragmentMap", "[codegen][layout]") {
  const Layout l = Layout::mapped({8, 2}, 8, std::make_shared<Rows>());
  CHECK(l.registers() == 2);
  CHECK(l.locate({5, 1}) == Slot{5, 1});
  check_bijection(l);
}
