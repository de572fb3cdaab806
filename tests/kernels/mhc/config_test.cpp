#include "base/error.h"
#include "kernels/mhc/config.h"

#include <catch2/catch.hpp>
#include <limits>

using namespace tessera;
using namespace tessera::mhc;

namespace {

Config valid_config() {
  Config c;
  c.hidden = 4096;
  return c;
}

void require_config_error(const Config& c, const std::string& field) {
  try {
    c.validate();
    FAIL("validate() accepted an invalid '" << field << "'");
  } catch (const UserError& e) {
    CHECK_THAT(e.what(), Catch::Contains("field '" + field + "'"));
  }
}

} // namespace

TEST_CASE("Config defaults are DeepSeek-V4's and validate", "[mhc][config]") {
  Config c = valid_config();
  CHECK(c.hc_mult == 4);
  CHECK(c.sinkhorn_iters == 20);
  CHECK(c.rms_eps == 1e-6f);
  CHECK(c.hc_pre_eps == 1e-6f);
  CHECK(c.hc_sinkhorn_eps == 1e-6f);
  CHECK(c.post_mult == 2.0f);
  CHECK(c.gemm_precision == GemmPrecision::tf32);
  CHECK(c.split.kind == SplitPolicy::Kind::automatic);
  CHECK_FALSE(c.norm_eps.has_value());
  CHECK(c.mix_count() == 24);
  CHECK(c.k() == 16384);
  CHECK_NOTHROW(c.validate());
  c.hidden = 1; // any H >= 1
  CHECK_NOTHROW(c.validate());
  c.hc_mult = 8;
  CHECK(c.mix_count() == 80);
  CHECK_NOTHROW(c.validate());
}

TEST_CASE("Config::validate names the bad field", "[mhc][config]") {
  Config c = valid_config();
  c.hidden = 0;
  require_config_error(c, "hidden");
  c = valid_config();
  c.hc_mult = 1;
  require_config_error(c, "hc_mult");
  c.hc_mult = 9;
  require_config_error(c, "hc_mult");
  c = valid_config();
  c.sinkhorn_iters = 0;
  require_config_error(c, "sinkhorn_iters");
  c = valid_config();
  c.rms_eps = -1e-6f;
  require_config_error(c, "rms_eps");
  c = valid_config();
  c.hc_pre_eps = std::numeric_limits<float>::quiet_NaN();
  require_config_error(c, "hc_pre_eps");
  c = valid_config();
  c.hc_sinkhorn_eps = std::numeric_limits<float>::infinity();
  require_config_error(c, "hc_sinkhorn_eps");
  c = valid_config();
  c.post_mult = std::numeric_limits<float>::infinity();
  require_config_error(c, "post_mult");
  c = valid_config();
  c.split = SplitPolicy::fixed(0);
  require_config_error(c, "split");
  c.split = SplitPolicy::fixed(kMaxSplits + 1);
  require_config_error(c, "split");
  c = valid_config();
  c.norm_eps = -1.0f;
  require_config_error(c, "norm_eps");
}

TEST_CASE("choose_num_splits reproduces the spec's split table (§3.5)", "[mhc][config]") {
  struct Row {
    std::int64_t t;
    int flash132, pro132, flash148, pro148;
  };
  const Row rows[] = {
      {1, 64, 112, 64, 112}, {64, 64, 112, 64, 112}, {128, 64, 66, 64, 74}, {256, 33, 33, 37, 37},
      {512, 16, 16, 18, 18}, {1024, 8, 8, 9, 9},     {2048, 4, 4, 4, 4},    {4096, 2, 2, 2, 2},
      {8192, 1, 1, 1, 1},    {16384, 1, 1, 1, 1},
  };
  for (const Row& r : rows) {
    INFO("T = " << r.t);
    CHECK(choose_num_splits(132, r.t, 16384) == r.flash132);
    CHECK(choose_num_splits(132, r.t, 28672) == r.pro132);
    CHECK(choose_num_splits(148, r.t, 16384) == r.flash148);
    CHECK(choose_num_splits(148, r.t, 28672) == r.pro148);
  }
  // Broadcast variant: K = H → 16 (Flash) or 28 (Pro) splits for T <= 128.
  for (std::int64_t t : {1, 64, 128}) {
    CHECK(choose_num_splits(132, t, 4096) == 16);
    CHECK(choose_num_splits(132, t, 7168) == 28);
  }
  // T = 0 counts as one M block; tiny K still gives one split.
  CHECK(choose_num_splits(132, 0, 16384) == 64);
  CHECK(choose_num_splits(132, 1, 1) == 1);
  CHECK(choose_num_splits(132, 1, 100) == 1);
  CHECK_THROWS_AS(choose_num_splits(0, 1, 16384), UserError);
  CHECK_THROWS_AS(choose_num_splits(132, -1, 16384), UserError);
  CHECK_THROWS_AS(choose_num_splits(132, 1, 0), UserError);
}

TEST_CASE("bucket_num_splits and resolve_num_splits", "[mhc][config]") {
  CHECK(bucket_num_splits(1) == 1);
  CHECK(bucket_num_splits(2) == 4);
  CHECK(bucket_num_splits(4) == 4);
  CHECK(bucket_num_splits(5) == 16);
  CHECK(bucket_num_splits(112) == 16);
  CHECK_THROWS_AS(bucket_num_splits(0), UserError);
  Config c = valid_config();
  CHECK(resolve_num_splits(c, 132, 256, c.k()) == 33);
  c.split = SplitPolicy::fixed(7);
  CHECK(resolve_num_splits(c, 132, 256, c.k()) == 7);
}
