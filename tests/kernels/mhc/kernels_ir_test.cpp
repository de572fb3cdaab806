// The mHC kernels trace into IR for every configuration the tests and benchmarks use.
#include "ir/printer.h"
#include "kernels/mhc/kernels.h"

#include <catch2/catch.hpp>

namespace k = tessera::mhc::kernels;
namespace ir = tessera::ir;
using tessera::mhc::GemmPrecision;

TEST_CASE("mHC kernels trace", "[mhc][ir]") {
  for (std::int64_t hidden : {4096, 7168, 5137, 1000}) {
    for (int n : {2, 4, 8}) {
      INFO("H=" << hidden << " n=" << n);
      const int m3 = n * (n + 2);
      const ir::Kernel a = k::stage_a({.k = hidden * n, .rows = m3, .splits = 16});
      CHECK(a.name == "mhc_stage_a");
      CHECK(a.params.size() == 4);
      for (auto v :
           {k::BigFuseVariant::plain, k::BigFuseVariant::norm, k::BigFuseVariant::broadcast}) {
        k::BigFuseParams p;
        p.hidden = hidden;
        p.n = n;
        p.splits = 3;
        p.variant = v;
        p.tile_h = v == k::BigFuseVariant::plain ? 512 : 1024;
        const ir::Kernel b = k::big_fuse(p);
        CHECK(!ir::to_string(b).empty());
      }
      CHECK(k::post({.hidden = hidden, .n = n}).params.size() == 5);
      CHECK(k::fused_post({.hidden = hidden, .n = n, .splits = 8}).params.size() == 8);
      CHECK(k::head_collapse({.hidden = hidden, .n = n, .splits = 4}).params.size() == 6);
      CHECK(k::sinkhorn({.n = n}).params.size() == 2);
    }
  }
}

TEST_CASE("the big fuse IR shows its structure", "[mhc][ir]") {
  k::BigFuseParams p;
  p.hidden = 7168;
  p.splits = 16;
  const std::string text = ir::to_string(k::big_fuse(p));
  INFO(text);
  CHECK(text.find("kernel mhc_big_fuse_plain(") != std::string::npos);
  CHECK(text.find("pdl_wait") != std::string::npos);
  CHECK(text.find("pdl_trigger") != std::string::npos);
  CHECK(text.find("threads [0, 32)") != std::string::npos);
}
