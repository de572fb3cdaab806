#include "kernels/mhc/inputs.h"

#include <catch2/catch.hpp>
#include <cmath>

using namespace tessera;
using namespace tessera::mhc;

TEST_CASE("Rng is deterministic and standard normal", "[mhc][inputs]") {
  inputs::Rng a(42), b(42), c(43);
  for (int i = 0; i < 10; ++i) {
    const double x = a.normal();
    CHECK(x == b.normal());
    CHECK(x != c.normal());
  }
  // std::mt19937_64's output is fixed by the standard: the 10000th value of the default seed.
  std::mt19937_64 e;
  e.discard(9999);
  CHECK(e() == 9981545732273789042ull);
  inputs::Rng r(1);
  const int count = 200000;
  double sum = 0, sq = 0;
  for (int i = 0; i < count; ++i) {
    const double x = r.normal();
    sum += x;
    sq += x * x;
  }
  CHECK(std::fabs(sum / count) < 0.01);
  CHECK(std::fabs(sq / count - 1) < 0.02);
  for (int i = 0; i < 1000; ++i) {
    const double u = r.uniform();
    CHECK(u > 0.0);
    CHECK(u <= 1.0);
  }
}

TEST_CASE("input recipes have the spec's shapes and scales", "[mhc][inputs]") {
  Config cfg;
  cfg.hidden = 512;
  cfg.norm_eps = 1e-6f;
  const std::int64_t T = 8;
  const auto pre = inputs::make_pre_inputs(cfg, T, 0);
  CHECK(pre.residual.size() == std::size_t(T * 4 * 512));
  CHECK(pre.fn.size() == std::size_t(24 * 4 * 512));
  CHECK(pre.scale.size() == 3);
  CHECK(pre.base.size() == 24);
  CHECK(pre.norm_weight.size() == 512);
  // fn = randn · 1e-4 · (1 + 0.01 j): the RMS of each stream's block grows with j.
  for (int j = 0; j < 4; ++j) {
    double sq = 0;
    for (int c = 0; c < 24; ++c)
      for (int h = 0; h < 512; ++h) {
        const double v = pre.fn[(c * 4 + j) * 512 + h];
        sq += v * v;
      }
    CHECK(std::sqrt(sq / (24 * 512)) == Approx(1e-4 * (1 + 0.01 * j)).epsilon(0.03));
  }
  double wmean = 0;
  for (auto w : pre.norm_weight)
    wmean += float(w);
  CHECK(wmean / 512 == Approx(1.0).epsilon(0.02));
  // Same seed → same data; another seed → other data.
  const auto again = inputs::make_pre_inputs(cfg, T, 0);
  CHECK(again.fn == pre.fn);
  CHECK(std::equal(again.residual.begin(), again.residual.end(), pre.residual.begin(),
                   [](bf16 a, bf16 b) { return a.bits == b.bits; }));
  CHECK(inputs::make_pre_inputs(cfg, T, 1).fn != pre.fn);

  const auto post = inputs::make_post_inputs(cfg, T, 0);
  CHECK(post.post_mix.size() == std::size_t(T * 4));
  CHECK(post.comb_mix.size() == std::size_t(T * 16));
  for (float p : post.post_mix) {
    CHECK(p > 0.0f);
    CHECK(p <= 2.0f);
  }
  const auto b = inputs::make_broadcast_inputs(cfg, T, 0);
  CHECK(b.fn_bcast.size() == std::size_t(24 * 512));
  CHECK(b.embedding.size() == std::size_t(T * 512));
  const auto h = inputs::make_head_inputs(cfg, T, 0);
  CHECK(h.fn.size() == std::size_t(4 * 4 * 512));
  CHECK(h.base.size() == 4);
  CHECK(inputs::make_sinkhorn_logits(cfg, T, 0).size() == std::size_t(T * 16));
  CHECK(inputs::make_pre_inputs(cfg, 0, 0).residual.empty());
}
