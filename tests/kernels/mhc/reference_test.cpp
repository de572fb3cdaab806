#include "base/error.h"
#include "kernels/mhc/inputs.h"
#include "kernels/mhc/reference.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vector>

using namespace tessera;
using namespace tessera::mhc;

namespace {

/** Distance in bf16 ulps (over the ordered bit patterns). */
int bf16_ulps(bf16 a, bf16 b) {
  auto ordered = [](std::uint16_t bits) {
    return (bits & 0x8000u) ? -static_cast<int>(bits & 0x7fffu) : static_cast<int>(bits);
  };
  return std::abs(ordered(a.bits) - ordered(b.bits));
}

/** Checks every element of two bf16 arrays; returns how many differ (by at most max_ulps). */
int check_bf16_close(const std::vector<bf16>& got, const std::vector<bf16>& want,
                     int max_ulps = 1) {
  REQUIRE(got.size() == want.size());
  int differing = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const int d = bf16_ulps(got[i], want[i]);
    if (d > max_ulps) {
      FAIL_CHECK("element " << i << ": " << float(got[i]) << " vs " << float(want[i]) << " (" << d
                            << " ulps)");
    }
    differing += d != 0;
  }
  return differing;
}

void check_bf16_equal(const std::vector<bf16>& got, const std::vector<bf16>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (got[i].bits != want[i].bits) {
      FAIL_CHECK("element " << i << ": " << float(got[i]) << " vs " << float(want[i]));
    }
  }
}

template <typename A, typename B>
void check_close(const A& got, const B& want, double atol, double rtol) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = got[i], w = want[i];
    if (!(std::fabs(g - w) <= atol + rtol * std::fabs(w))) {
      FAIL_CHECK("element " << i << ": " << g << " vs " << w);
    }
  }
}

Config make_config(std::int64_t hidden, int n = 4) {
  Config c;
  c.hidden = hidden;
  c.hc_mult = n;
  c.gemm_precision = GemmPrecision::fp32;
  return c;
}

/** An independent, deliberately plain mhc_pre (§3.0, §3.3) written from the spec formulas. */
struct NaivePre {
  std::vector<double> post, comb;
  std::vector<bf16> layer_input;
};

NaivePre naive_pre(const Config& cfg, std::int64_t T, const std::vector<bf16>& res,
                   const std::vector<float>& fn, const std::vector<float>& scale,
                   const std::vector<float>& base, const std::vector<bf16>& w) {
  const int n = cfg.n(), m3 = cfg.mix_count();
  const std::int64_t H = cfg.hidden, K = cfg.k();
  NaivePre out;
  out.post.resize(T * n);
  out.comb.resize(T * n * n);
  out.layer_input.resize(T * H);
  for (std::int64_t t = 0; t < T; ++t) {
    std::vector<double> x(K);
    for (std::int64_t k = 0; k < K; ++k) {
      x[k] = float(res[t * K + k]);
    }
    double ss = 0;
    for (double v : x) {
      ss += v * v;
    }
    const double r = 1 / std::sqrt(ss / K + cfg.rms_eps);
    std::vector<double> m(m3);
    for (int c = 0; c < m3; ++c) {
      double acc = 0;
      for (std::int64_t k = 0; k < K; ++k) {
        acc += x[k] * fn[c * K + k];
      }
      m[c] = acc * r;
    }
    auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
    std::vector<double> pre(n);
    for (int j = 0; j < n; ++j) {
      pre[j] = sig(m[j] * scale[0] + base[j]) + cfg.hc_pre_eps;
      out.post[t * n + j] = sig(m[n + j] * scale[1] + base[n + j]) * cfg.post_mult;
    }
    // Sinkhorn written with explicit sum vectors.
    std::vector<std::vector<double>> C(n, std::vector<double>(n));
    const double eps = cfg.hc_sinkhorn_eps;
    for (int j = 0; j < n; ++j) {
      double mx = -1e300, den = 0;
      for (int k = 0; k < n; ++k) {
        mx = std::max(mx, m[2 * n + j * n + k] * scale[2] + base[2 * n + j * n + k]);
      }
      for (int k = 0; k < n; ++k) {
        den += std::exp(m[2 * n + j * n + k] * scale[2] + base[2 * n + j * n + k] - mx);
      }
      for (int k = 0; k < n; ++k) {
        C[j][k] =
            std::exp(m[2 * n + j * n + k] * scale[2] + base[2 * n + j * n + k] - mx) / den + eps;
      }
    }
    auto cols = [&] {
      std::vector<double> s(n, 0.0);
      for (int j = 0; j < n; ++j)
        for (int k = 0; k < n; ++k)
          s[k] += C[j][k];
      for (int j = 0; j < n; ++j)
        for (int k = 0; k < n; ++k)
          C[j][k] /= s[k] + eps;
    };
    auto rows = [&] {
      std::vector<double> s(n, 0.0);
      for (int j = 0; j < n; ++j)
        for (int k = 0; k < n; ++k)
          s[j] += C[j][k];
      for (int j = 0; j < n; ++j)
        for (int k = 0; k < n; ++k)
          C[j][k] /= s[j] + eps;
    };
    cols();
    for (int it = 1; it < cfg.sinkhorn_iters; ++it) {
      rows();
      cols();
    }
    for (int j = 0; j < n; ++j)
      for (int k = 0; k < n; ++k)
        out.comb[t * n * n + j * n + k] = C[j][k];
    std::vector<double> u(H);
    double q = 0;
    for (std::int64_t h = 0; h < H; ++h) {
      for (int j = 0; j < n; ++j) {
        u[h] += pre[j] * x[j * H + h];
      }
      q += u[h] * u[h];
    }
    if (!cfg.norm_eps) {
      for (std::int64_t h = 0; h < H; ++h) {
        out.layer_input[t * H + h] = ref::round_to_bf16(u[h]);
      }
    } else {
      const double rho = 1 / std::sqrt(q / H + *cfg.norm_eps);
      for (std::int64_t h = 0; h < H; ++h) {
        const double staged = float(ref::round_to_bf16(u[h]));
        out.layer_input[t * H + h] = ref::round_to_bf16(staged * rho * double(float(w[h])));
      }
    }
  }
  return out;
}

} // namespace

TEST_CASE("round_to_tf32 rounds to nearest, ties away from zero", "[mhc][reference]") {
  const float one = 1.0f;
  CHECK(ref::round_to_tf32(one + std::ldexp(1.0f, -11)) == one + std::ldexp(1.0f, -10)); // tie
  CHECK(ref::round_to_tf32(-(one + std::ldexp(1.0f, -11))) == -(one + std::ldexp(1.0f, -10)));
  CHECK(ref::round_to_tf32(one + std::ldexp(1.0f, -12)) == one);
  CHECK(ref::round_to_tf32(one + std::ldexp(1.0f, -11) - std::ldexp(1.0f, -23)) == one);
  CHECK(std::isinf(ref::round_to_tf32(std::numeric_limits<float>::infinity())));
  CHECK(std::isnan(ref::round_to_tf32(std::numeric_limits<float>::quiet_NaN())));
  CHECK(std::isinf(ref::round_to_tf32(std::numeric_limits<float>::max())));
  inputs::Rng rng(7);
  for (int i = 0; i < 1000; ++i) {
    const float x = static_cast<float>(rng.normal() * 1e-3);
    const float r = ref::round_to_tf32(x);
    CHECK((std::bit_cast<std::uint32_t>(r) & 0x1fffu) == 0);
    CHECK(std::fabs(r - x) <= std::ldexp(std::fabs(x), -11));
  }
}

TEST_CASE("round_to_bf16 rounds a double once, to nearest even", "[mhc][reference]") {
  CHECK(ref::round_to_bf16(1.0 + 0x1.0p-8).bits == 0x3f80);             // tie → even
  CHECK(ref::round_to_bf16(1.0 + 0x1.0p-8 + 0x1.0p-30).bits == 0x3f81); // above the tie
  CHECK(ref::round_to_bf16(1.0 + 3 * 0x1.0p-8).bits == 0x3f82);
  CHECK(ref::round_to_bf16(-2.0).bits == 0xc000);
  CHECK(std::isinf(float(ref::round_to_bf16(1e300))));
  CHECK(std::isnan(float(ref::round_to_bf16(std::nan("")))));
  inputs::Rng rng(3);
  for (int i = 0; i < 1000; ++i) {
    const float f = static_cast<float>(rng.normal());
    CHECK(ref::round_to_bf16(f).bits == float_to_bf16_bits(f));
  }
}

TEST_CASE("Sinkhorn of a hand-computed 2x2 matrix", "[mhc][reference]") {
  // Softmax rows: [1/4, 3/4] and [1/2, 1/2]; column sums 3/4 and 5/4.
  std::vector<double> c = {0.0, std::log(3.0), 0.0, 0.0};
  ref::sinkhorn_matrix(c, 2, 1, 0.0);
  CHECK(c[0] == Approx(1.0 / 3).epsilon(1e-15));
  CHECK(c[1] == Approx(3.0 / 5).epsilon(1e-15));
  CHECK(c[2] == Approx(2.0 / 3).epsilon(1e-15));
  CHECK(c[3] == Approx(2.0 / 5).epsilon(1e-15));
  // Uniform logits stay uniform.
  std::vector<double> u(16, 0.25);
  ref::sinkhorn_matrix(u, 4, 20, 0.0);
  for (double v : u) {
    CHECK(v == Approx(0.25).epsilon(1e-15));
  }
}

TEST_CASE("Sinkhorn converges to a doubly stochastic matrix", "[mhc][reference]") {
  for (int n : {2, 3, 4, 8}) {
    Config cfg = make_config(8, n);
    const std::int64_t T = 16;
    auto logits = inputs::make_sinkhorn_logits(cfg, T, 11);
    for (int iters : {20, 200}) {
      const auto comb = ref::sinkhorn(logits, T, n, iters, 1e-6f);
      for (std::int64_t t = 0; t < T; ++t) {
        for (int k = 0; k < n; ++k) {
          double col = 0, row = 0;
          for (int j = 0; j < n; ++j) {
            col += comb[t * n * n + j * n + k];
            row += comb[t * n * n + k * n + j];
          }
          INFO("n=" << n << " iters=" << iters << " t=" << t << " k=" << k);
          CHECK(std::fabs(col - 1) < 1e-5); // the last step is a column normalisation
          if (iters == 200) {
            CHECK(std::fabs(row - 1) < 1e-5);
          }
        }
      }
    }
    CHECK(ref::sinkhorn({}, 0, n, 20, 1e-6f).empty());
  }
}

TEST_CASE("stage A on a hand-computed case", "[mhc][reference]") {
  std::vector<bf16> x = {bf16(1.0f), bf16(2.0f), bf16(3.0f), bf16(-1.0f), bf16(0.5f), bf16(4.0f)};
  std::vector<float> fn = {1.0f, 1.0f, 1.0f, 0.5f, -2.0f, 0.25f};
  const auto a = ref::stage_a(x, fn, 2, 3, 2);
  REQUIRE(a.mix.size() == 4);
  CHECK(a.mix[0] == 6.0f);
  CHECK(a.mix[1] == -2.75f);
  CHECK(a.mix[2] == 3.5f);
  CHECK(a.mix[3] == -0.5f);
  CHECK(a.sqrsum[0] == 14.0f);
  CHECK(a.sqrsum[1] == 17.25f);
}

TEST_CASE("stage A split partials sum to the unsplit result", "[mhc][reference]") {
  const std::int64_t T = 3, H = 100, K = 4 * H; // K = 400: 7 k-blocks, the last one 16 long
  Config cfg = make_config(H);
  auto in = inputs::make_pre_inputs(cfg, T, 5);
  const auto full = ref::stage_a(in.residual, in.fn, T, K, 24, 1);
  for (int S : {1, 2, 3, 7, 10}) {
    INFO("S = " << S);
    // The ranges tile [0, K) contiguously.
    std::int64_t next = 0;
    for (int s = 0; s < S; ++s) {
      const auto r = ref::stage_a_split_range(K, S, s);
      CHECK(r.begin == next);
      CHECK((r.size() % 64 == 0 || r.end == K));
      next = r.end;
    }
    CHECK(next == K);
    const auto a = ref::stage_a(in.residual, in.fn, T, K, 24, S);
    CHECK(a.mix.size() == std::size_t(S * T * 24));
    std::vector<float> mix, sq;
    ref::reduce_stage_a(a, mix, sq);
    check_close(mix, full.mix, 1e-9, 1e-6);
    check_close(sq, full.sqrsum, 0.0, 1e-6);
    if (S == 10) { // splits 7..9 have no k-blocks
      for (int s = 7; s < 10; ++s) {
        CHECK(ref::stage_a_split_range(K, S, s).size() == 0);
        CHECK(a.sqrsum[s * T] == 0.0f);
      }
    }
  }
  // DeepGEMM's partition for K = 16384 and 33 splits: 256 blocks = 33·7 + 25.
  CHECK(ref::stage_a_split_range(16384, 33, 0).size() == 8 * 64);
  CHECK(ref::stage_a_split_range(16384, 33, 24).size() == 8 * 64);
  CHECK(ref::stage_a_split_range(16384, 33, 25).size() == 7 * 64);
  CHECK(ref::stage_a_split_range(16384, 33, 32).end == 16384);
}

TEST_CASE("stage A TF32 emulation rounds fn only", "[mhc][reference]") {
  const std::int64_t T = 2, H = 64;
  Config cfg = make_config(H);
  auto in = inputs::make_pre_inputs(cfg, T, 9);
  auto fn_rounded = in.fn;
  for (float& v : fn_rounded) {
    v = ref::round_to_tf32(v);
  }
  const auto tf32 = ref::stage_a(in.residual, in.fn, T, cfg.k(), 24, 3, GemmPrecision::tf32);
  const auto exact = ref::stage_a(in.residual, fn_rounded, T, cfg.k(), 24, 3);
  CHECK(tf32.mix == exact.mix);
  CHECK(tf32.sqrsum == exact.sqrsum);
  const auto fp32 = ref::stage_a(in.residual, in.fn, T, cfg.k(), 24, 3);
  CHECK(tf32.mix != fp32.mix);
  check_close(tf32.mix, fp32.mix, 1e-6, 1e-2);
}

TEST_CASE("collapse with one-hot pre picks one stream exactly", "[mhc][reference]") {
  const int n = 4;
  const std::int64_t T = 3, H = 37;
  Config cfg = make_config(H, n);
  auto in = inputs::make_pre_inputs(cfg, T, 1);
  for (int pick = 0; pick < n; ++pick) {
    std::vector<float> pre(T * n, 0.0f);
    for (std::int64_t t = 0; t < T; ++t) {
      pre[t * n + pick] = 1.0f;
    }
    const auto out = ref::collapse(in.residual, pre, T, n, H);
    for (std::int64_t t = 0; t < T; ++t) {
      for (std::int64_t h = 0; h < H; ++h) {
        REQUIRE(out[t * H + h].bits == in.residual[(t * n + pick) * H + h].bits);
      }
    }
  }
}

TEST_CASE("mhc_post: identity comb and zero post return the residual", "[mhc][reference]") {
  for (int n : {2, 4, 5}) {
    const std::int64_t T = 3, H = 45;
    Config cfg = make_config(H, n);
    auto in = inputs::make_post_inputs(cfg, T, 2);
    std::vector<float> post(T * n, 0.0f), comb(T * n * n, 0.0f);
    for (std::int64_t t = 0; t < T; ++t)
      for (int j = 0; j < n; ++j)
        comb[t * n * n + j * n + j] = 1.0f;
    check_bf16_equal(ref::mhc_post(cfg, T, in.y, in.residual, post, comb), in.residual);
  }
}

TEST_CASE("mhc_post uses the columns of comb", "[mhc][reference]") {
  Config cfg = make_config(1, 2);
  // X = [1, 2], y = 4, post = [0.5, 0.25], comb = [[1, 2], [3, 4]] (row-major (j, k)).
  std::vector<bf16> y = {bf16(4.0f)}, res = {bf16(1.0f), bf16(2.0f)};
  std::vector<float> post = {0.5f, 0.25f}, comb = {1.0f, 2.0f, 3.0f, 4.0f};
  const auto out = ref::mhc_post(cfg, 1, y, res, post, comb);
  CHECK(float(out[0]) == 0.5f * 4 + 1 * 1 + 3 * 2); // column 0: comb[0,0], comb[1,0]
  CHECK(float(out[1]) == 0.25f * 4 + 2 * 1 + 4 * 2);
}

TEST_CASE("mhc_post matches its formula on random inputs", "[mhc][reference]") {
  const std::int64_t T = 4, H = 300;
  Config cfg = make_config(H);
  auto in = inputs::make_post_inputs(cfg, T, 4);
  const auto out = ref::mhc_post(cfg, T, in.y, in.residual, in.post_mix, in.comb_mix);
  const int n = 4;
  for (std::int64_t t = 0; t < T; ++t)
    for (int k = 0; k < n; ++k)
      for (std::int64_t h = 0; h < H; ++h) {
        double acc = double(in.post_mix[t * n + k]) * float(in.y[t * H + h]);
        for (int j = 0; j < n; ++j)
          acc +=
              double(in.comb_mix[t * n * n + j * n + k]) * float(in.residual[(t * n + j) * H + h]);
        REQUIRE(out[(t * n + k) * H + h].bits == ref::round_to_bf16(acc).bits);
      }
}

TEST_CASE("mhc_pre matches an independent computation (n, H, norm)", "[mhc][reference]") {
  for (int n : {2, 3, 4, 8}) {
    for (std::int64_t H : {1, 33, 100, 256}) {
      for (bool norm : {false, true}) {
        Config cfg = make_config(H, n);
        cfg.post_mult = 1.0f + (n % 2); // exercise the multiplier
        if (norm) {
          cfg.norm_eps = 1e-5f;
        }
        const std::int64_t T = 3;
        INFO("n=" << n << " H=" << H << " norm=" << norm);
        auto in = inputs::make_pre_inputs(cfg, T, 100 + n);
        const auto got =
            ref::mhc_pre(cfg, T, in.residual, in.fn, in.scale, in.base, in.norm_weight, 1);
        const auto want = naive_pre(cfg, T, in.residual, in.fn, in.scale, in.base, in.norm_weight);
        check_close(got.post_mix, want.post, 1e-7, 1e-6);
        check_close(got.comb_mix, want.comb, 1e-7, 1e-6);
        check_bf16_close(got.layer_input, want.layer_input, 1);
        CHECK(got.stage_a.mix.size() == std::size_t(T * cfg.mix_count()));
      }
    }
  }
}

TEST_CASE("mhc_pre: split count changes only the summation order", "[mhc][reference]") {
  const std::int64_t T = 5, H = 320;
  Config cfg = make_config(H);
  cfg.norm_eps = 1e-6f;
  auto in = inputs::make_pre_inputs(cfg, T, 8);
  const auto one = ref::mhc_pre(cfg, T, in.residual, in.fn, in.scale, in.base, in.norm_weight, 1);
  const auto many = ref::mhc_pre(cfg, T, in.residual, in.fn, in.scale, in.base, in.norm_weight, 6);
  check_close(many.post_mix, one.post_mix, 1e-7, 1e-5);
  check_close(many.comb_mix, one.comb_mix, 1e-7, 1e-5);
  check_bf16_close(many.layer_input, one.layer_input, 1);
}

TEST_CASE("fused norm takes its statistic from the unrounded collapse", "[mhc][reference]") {
  const std::int64_t T = 4, H = 96;
  Config cfg = make_config(H);
  cfg.norm_eps = 1e-6f;
  auto in = inputs::make_pre_inputs(cfg, T, 12);
  const auto got = ref::mhc_pre(cfg, T, in.residual, in.fn, in.scale, in.base, in.norm_weight, 2);
  // Independent: plain pre (no norm) gives the bf16 collapse; redo the pre weights from the
  // plain variant's own inputs through the naive path, unrounded.
  const auto want = naive_pre(cfg, T, in.residual, in.fn, in.scale, in.base, in.norm_weight);
  check_bf16_close(got.layer_input, want.layer_input, 1);
  // Norm and no norm give the same mixes.
  Config plain = cfg;
  plain.norm_eps.reset();
  const auto p = ref::mhc_pre(plain, T, in.residual, in.fn, in.scale, in.base, {}, 2);
  CHECK(p.post_mix == got.post_mix);
  CHECK(p.comb_mix == got.comb_mix);
  // The layer input is RMS-normalised: mean square of out / w ≈ 1.
  for (std::int64_t t = 0; t < T; ++t) {
    double ms = 0;
    for (std::int64_t h = 0; h < H; ++h) {
      const double v = float(got.layer_input[t * H + h]) / float(in.norm_weight[h]);
      ms += v * v;
    }
    CHECK(ms / H == Approx(1.0).epsilon(2e-2));
  }
}

TEST_CASE("broadcast pre equals pre on the replicated embedding", "[mhc][reference]") {
  for (int n : {2, 4}) {
    for (std::int64_t H : {64, 100}) {
      const std::int64_t T = 4;
      Config cfg = make_config(H, n);
      cfg.norm_eps = 1e-5f;
      INFO("n=" << n << " H=" << H);
      auto b = inputs::make_broadcast_inputs(cfg, T, 21);
      std::vector<bf16> x0(T * n * H);
      for (std::int64_t t = 0; t < T; ++t)
        for (int j = 0; j < n; ++j)
          std::copy_n(b.embedding.begin() + t * H, H, x0.begin() + (t * n + j) * H);
      const auto bc = ref::mhc_pre_broadcast(cfg, T, b.embedding, b.fn_bcast, b.scale, b.base,
                                             b.norm_weight, 3);
      const auto full = ref::mhc_pre(cfg, T, x0, b.fn, b.scale, b.base, b.norm_weight, 1);
      check_bf16_equal(bc.residual, x0);
      check_close(bc.post_mix, full.post_mix, 1e-7, 1e-5);
      check_close(bc.comb_mix, full.comb_mix, 1e-7, 1e-5);
      check_bf16_close(bc.layer_input, full.layer_input, 1);
    }
  }
  Config no_norm = make_config(64);
  CHECK_THROWS_AS(ref::big_fuse_broadcast(no_norm, 0, 1, {}, {}, std::vector<float>(3),
                                          std::vector<float>(24), {}, {}),
                  UserError);
}

TEST_CASE("mhc_fused_post_pre is post then pre", "[mhc][reference]") {
  for (bool norm : {false, true}) {
    const std::int64_t T = 3, H = 160;
    Config cfg = make_config(H);
    if (norm) {
      cfg.norm_eps = 1e-6f;
    }
    auto in = inputs::make_fused_post_pre_inputs(cfg, T, 31);
    const auto& p = in.post;
    const auto fused = ref::mhc_fused_post_pre(cfg, T, p.y, p.residual, p.post_mix, p.comb_mix,
                                               in.fn, in.scale, in.base, in.norm_weight, 2);
    const auto res = ref::mhc_post(cfg, T, p.y, p.residual, p.post_mix, p.comb_mix);
    const auto pre = ref::mhc_pre(cfg, T, res, in.fn, in.scale, in.base, in.norm_weight, 2);
    check_bf16_equal(fused.residual, res);
    CHECK(fused.post_mix == pre.post_mix);
    CHECK(fused.comb_mix == pre.comb_mix);
    check_bf16_equal(fused.layer_input, pre.layer_input);

    // Single-pass numerics: same stored residual; the mixes see the unrounded residual.
    for (int S : {1, 4, 8}) {
      INFO("norm=" << norm << " S=" << S);
      const auto single =
          ref::mhc_fused_post_pre_single_pass(cfg, T, p.y, p.residual, p.post_mix, p.comb_mix,
                                              in.fn, in.scale, in.base, in.norm_weight, S);
      check_bf16_equal(single.residual, res);
      check_close(single.post_mix, pre.post_mix, 1e-3, 1e-3);
      check_close(single.comb_mix, pre.comb_mix, 1e-3, 1e-3);
      check_bf16_close(single.layer_input, pre.layer_input, 1);
      CHECK(single.stage_a.num_splits == S);
      // Its square sum is over the unrounded residual, so it differs from the rounded one.
      std::vector<float> mix, sq;
      ref::reduce_stage_a(single.stage_a, mix, sq);
      std::vector<float> mix2, sq2;
      ref::reduce_stage_a(pre.stage_a, mix2, sq2);
      check_close(sq, sq2, 0.0, 1e-2);
      CHECK(sq != sq2);
    }
  }
}

TEST_CASE("fused_split_h_range tiles the hidden dimension", "[mhc][reference]") {
  CHECK(ref::fused_split_h_range(4096, 8, 3).begin == 1536);
  CHECK(ref::fused_split_h_range(4096, 8, 3).end == 2048);
  std::int64_t next = 0;
  for (int s = 0; s < 7; ++s) {
    const auto r = ref::fused_split_h_range(33, 7, s);
    CHECK(r.begin == next);
    next = r.end;
  }
  CHECK(next == 33);
}

TEST_CASE("hc_head matches its formula", "[mhc][reference]") {
  for (int n : {2, 4}) {
    const std::int64_t T = 3, H = 130;
    Config cfg = make_config(H, n);
    auto in = inputs::make_head_inputs(cfg, T, 41);
    const auto out = ref::hc_head(cfg, T, in.residual, in.fn, in.scale, in.base);
    const std::int64_t K = cfg.k();
    for (std::int64_t t = 0; t < T; ++t) {
      double ms = 0;
      for (std::int64_t k = 0; k < K; ++k) {
        const double v = float(in.residual[t * K + k]);
        ms += v * v / K;
      }
      std::vector<double> pre(n);
      for (int j = 0; j < n; ++j) {
        double m = 0;
        for (std::int64_t k = 0; k < K; ++k)
          m += float(in.residual[t * K + k]) / std::sqrt(ms + cfg.rms_eps) * in.fn[j * K + k];
        pre[j] = 1 / (1 + std::exp(-(m * in.scale[0] + in.base[j]))) + cfg.hc_pre_eps;
      }
      std::vector<bf16> want(H), got(out.begin() + t * H, out.begin() + (t + 1) * H);
      for (std::int64_t h = 0; h < H; ++h) {
        double acc = 0;
        for (int j = 0; j < n; ++j)
          acc += pre[j] * float(in.residual[t * K + j * H + h]);
        want[h] = ref::round_to_bf16(acc);
      }
      check_bf16_close(got, want, 1);
    }
  }
}

TEST_CASE("every op accepts T = 0 and returns empty outputs", "[mhc][reference]") {
  Config cfg = make_config(64);
  std::vector<float> fn(24 * cfg.k(), 1e-4f), scale(3, 0.1f), base(24, 0.1f);
  const auto pre = ref::mhc_pre(cfg, 0, {}, fn, scale, base, {}, 4);
  CHECK(pre.post_mix.empty());
  CHECK(pre.comb_mix.empty());
  CHECK(pre.layer_input.empty());
  CHECK(ref::mhc_post(cfg, 0, {}, {}, {}, {}).empty());
  const auto f = ref::mhc_fused_post_pre(cfg, 0, {}, {}, {}, {}, fn, scale, base, {}, 2);
  CHECK(f.residual.empty());
  CHECK(f.layer_input.empty());
  const auto s =
      ref::mhc_fused_post_pre_single_pass(cfg, 0, {}, {}, {}, {}, fn, scale, base, {}, 8);
  CHECK(s.residual.empty());
  std::vector<float> fnh(4 * cfg.k(), 1e-4f), sh(1, 0.1f), bh(4, 0.1f);
  CHECK(ref::hc_head(cfg, 0, {}, fnh, sh, bh).empty());
  Config norm = cfg;
  norm.norm_eps = 1e-6f;
  std::vector<float> fnb(24 * 64, 1e-4f);
  std::vector<bf16> w(64, bf16(1.0f));
  const auto b = ref::mhc_pre_broadcast(norm, 0, {}, fnb, scale, base, w, 2);
  CHECK(b.residual.empty());
  CHECK(ref::stage_a({}, fn, 0, cfg.k(), 24, 3).mix.empty());
}

TEST_CASE("references reject wrong sizes with a UserError naming the argument",
          "[mhc][reference]") {
  Config cfg = make_config(16);
  std::vector<float> fn(24 * cfg.k()), scale(3), base(24);
  std::vector<bf16> residual(2 * cfg.k());
  try {
    ref::mhc_pre(cfg, 2, residual, fn, std::vector<float>(2), base);
    FAIL("no error");
  } catch (const UserError& e) {
    CHECK_THAT(e.what(), Catch::Contains("'scale'") && Catch::Contains("expected 3"));
  }
  std::vector<bf16> w(16);
  CHECK_THROWS_AS(ref::mhc_pre(cfg, 2, residual, fn, scale, base, w), UserError); // no norm_eps
  CHECK_THROWS_AS(ref::mhc_pre(cfg, 2, residual, fn, scale, base, {}, 0), UserError);
  CHECK_THROWS_AS(ref::mhc_pre(cfg, -1, residual, fn, scale, base), UserError);
}

TEST_CASE("mhc_pre at DeepSeek-V4 shapes: TF32 emulation within TF32 tolerance",
          "[mhc][reference]") {
  for (std::int64_t H : {4096, 7168}) {
    const std::int64_t T = 2;
    Config cfg = make_config(H);
    cfg.gemm_precision = GemmPrecision::tf32;
    cfg.norm_eps = 1e-6f;
    INFO("H=" << H);
    auto in = inputs::make_pre_inputs(cfg, T, 0);
    const int splits = choose_num_splits(132, T, cfg.k());
    const auto got =
        ref::mhc_pre(cfg, T, in.residual, in.fn, in.scale, in.base, in.norm_weight, splits);
    CHECK(got.stage_a.num_splits == (H == 4096 ? 64 : 112));
    const auto want = naive_pre(cfg, T, in.residual, in.fn, in.scale, in.base, in.norm_weight);
    check_close(got.post_mix, want.post, 1e-4, 1e-3);
    check_close(got.comb_mix, want.comb, 1e-4, 1e-3);
    check_bf16_close(got.layer_input, want.layer_input, 1);
  }
}
