// Tensor-core gemm on a GPU: the example GEMM (examples/gemm_kernel.h) for bf16, f16, tf32 and
// fp32 against fp64 references at shapes with tails in M, N and K; pipelined (2 and 3 stages)
// vs not pipelined, bit for bit; and the mHC pre-norm pattern (examples/prenorm_gemm_kernel.h).
// Random inputs, NaN-poisoned outputs, every element checked. Needs a CUDA device: without one
// every test FAILS.
#include "base/float16.h"
#include "examples/gemm_kernel.h"
#include "examples/prenorm_gemm_kernel.h"
#include "jit/compiled_kernel.h"
#include "runtime/driver.h"
#include "runtime/memory.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <random>

using namespace tessera;

namespace {

void require_gpu() {
  REQUIRE(device_count() > 0); // throws DriverError without a driver: the test fails
}

std::vector<float> random_floats(std::size_t n, std::uint32_t seed, float lo = -2, float hi = 2) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) {
    x = d(gen);
  }
  return v;
}

/** cvt.rna.tf32.f32 on the host: round to 10 mantissa bits, ties away from zero. */
float round_tf32(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, 4);
  u = (u + 0x1000u) & 0xffffe000u;
  float r;
  std::memcpy(&r, &u, 4);
  return r;
}

DeviceBuffer poisoned(std::size_t bytes) {
  DeviceBuffer b(std::max<std::size_t>(bytes, 16));
  b.fill_bytes(0xff); // NaN in f32
  return b;
}

/** Every element within 4·k·2⁻²⁴·Σ|a·b| (fp32 accumulation of k exact or tf32 products). */
std::size_t check_gemm(const char* what, const std::vector<float>& got,
                       const std::vector<double>& want, const std::vector<double>& mag,
                       std::int64_t k) {
  REQUIRE(got.size() == want.size());
  std::size_t bad = 0;
  double max_err = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const double err = std::fabs(static_cast<double>(got[i]) - want[i]);
    max_err = std::max(max_err, std::isnan(err) ? INFINITY : err);
    if (!(err <= 4.0 * static_cast<double>(std::max<std::int64_t>(k, 1)) * 0x1p-24 * mag[i])) {
      if (bad++ < 5) {
        UNSCOPED_INFO(what << ": element " << i << ": got " << got[i] << ", expected " << want[i]);
      }
    }
  }
  std::printf("%-40s max abs error %.3g over %zu elements\n", what, max_err, want.size());
  CHECK(bad == 0);
  return bad;
}

struct GemmRun {
  std::vector<float> c;     ///< the kernel's output
  std::vector<double> want; ///< fp64 reference
  std::vector<double> mag;  ///< Σ|a·b| per element
};

/** Runs the example gemm with `cfg` on random A [m, k], B [k, n] of cfg.in. */
GemmRun run_gemm(const examples::GemmConfig& cfg, std::int64_t m, std::int64_t n, std::int64_t k,
                 std::uint32_t seed) {
  JitOptions o;
  o.target = Target::cuda;
  const CompiledKernel ck = Runtime::compile(examples::gemm_kernel(cfg), o);
  const auto af = random_floats(m * k, seed), bf = random_floats(k * n, seed + 1);
  std::vector<double> a(af.size()), b(bf.size()); // the values the kernel multiplies
  DeviceBuffer da(std::max<std::int64_t>(m * k, 8) * 4), db(std::max<std::int64_t>(k * n, 8) * 4);
  auto upload = [&](const std::vector<float>& v, std::vector<double>& used, DeviceBuffer& d) {
    if (cfg.in == DType::bf16) {
      std::vector<bf16> h(v.begin(), v.end());
      for (std::size_t i = 0; i < v.size(); ++i) {
        used[i] = static_cast<float>(h[i]);
      }
      d.copy_from_host(h.data(), h.size() * sizeof(bf16));
    } else if (cfg.in == DType::f16) {
      std::vector<f16> h(v.begin(), v.end());
      for (std::size_t i = 0; i < v.size(); ++i) {
        used[i] = static_cast<float>(h[i]);
      }
      d.copy_from_host(h.data(), h.size() * sizeof(f16));
    } else {
      for (std::size_t i = 0; i < v.size(); ++i) {
        // tf32x3 multiplies the unrounded values (within 2⁻²⁰ per product, inside the bound).
        used[i] = cfg.precision == ops::GemmPrecision::tf32 ? round_tf32(v[i]) : v[i];
      }
      d.copy_from_host(v.data(), v.size() * sizeof(float));
    }
  };
  upload(af, a, da);
  upload(bf, b, db);
  DeviceBuffer dc = poisoned(m * n * 4);
  ck.launch(nullptr, da.view(cfg.in, {m, k}), db.view(cfg.in, {k, n}), dc.view(DType::f32, {m, n}));
  GemmRun r;
  r.c.resize(m * n);
  dc.copy_to_host(r.c.data(), r.c.size() * 4);
  r.want.assign(m * n, 0.0);
  r.mag.assign(m * n, 0.0);
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t q = 0; q < k; ++q) {
      const double x = a[i * k + q] * cfg.alpha;
      for (std::int64_t j = 0; j < n; ++j) {
        r.want[i * n + j] += x * b[q * n + j];
        r.mag[i * n + j] += std::fabs(x * b[q * n + j]);
      }
    }
  }
  return r;
}

const char* in_name(const examples::GemmConfig& c) {
  if (c.in == DType::bf16) {
    return "bf16";
  }
  if (c.in == DType::f16) {
    return "f16";
  }
  return c.precision == ops::GemmPrecision::tf32   ? "tf32"
         : c.precision == ops::GemmPrecision::fp32 ? "fp32"
                                                   : "tf32x3";
}

struct Shape {
  std::int64_t m, n, k;
};

std::string fmt_case(const examples::GemmConfig& c, const Shape& s) {
  return fmt::format("{} {}x{}x{} tile {}x{}x{} t{} s{}{}", in_name(c), s.m, s.n, s.k, c.block_m,
                     c.block_n, c.block_k, c.threads, c.stages, c.n > 0 ? " fixed N,K" : "");
}

} // namespace

TEST_CASE("gpu: example gemm bf16/f16/tf32/fp32/tf32x3 vs fp64, tails in M, N, K", "[gpu][gemm]") {
  require_gpu();
  std::vector<examples::GemmConfig> configs;
  for (DType in : {DType::bf16, DType::f16}) {
    examples::GemmConfig c;
    c.in = in;
    configs.push_back(c);
  }
  for (ops::GemmPrecision p :
       {ops::GemmPrecision::tf32, ops::GemmPrecision::fp32, ops::GemmPrecision::tf32x3}) {
    examples::GemmConfig c{64, 64, 32, 128, 2, DType::f32, DType::f32};
    c.precision = p;
    configs.push_back(c);
  }
  {
    examples::GemmConfig c{128, 128, 32, 256, 3}; // 8 warps, alpha != 1
    c.alpha = 0.5f;
    configs.push_back(c);
  }
  const Shape shapes[] = {
      {128, 128, 64}, {257, 200, 100}, {1, 7, 33}, {300, 136, 96}, {64, 520, 1000}};
  std::uint32_t seed = 100;
  for (const examples::GemmConfig& cfg : configs) {
    for (const Shape& s : shapes) {
      const std::string what = fmt_case(cfg, s);
      INFO(what);
      const GemmRun r = run_gemm(cfg, s.m, s.n, s.k, seed += 2);
      check_gemm(what.c_str(), r.c, r.want, r.mag, s.k);
    }
  }
}

TEST_CASE("gpu: example gemm with compiled-in N, K (cp.async pipeline) vs fp64", "[gpu][gemm]") {
  require_gpu();
  const Shape shapes[] = {{256, 256, 256}, {300, 384, 1024}, {1, 128, 32}, {129, 136, 40}};
  std::uint32_t seed = 300;
  for (DType in : {DType::bf16, DType::f16, DType::f32}) {
    for (const Shape& s : shapes) {
      examples::GemmConfig c;
      c.in = in;
      c.n = s.n;
      c.k = s.k;
      const std::string what = fmt_case(c, s);
      INFO(what);
      const GemmRun r = run_gemm(c, s.m, s.n, s.k, seed += 2);
      check_gemm(what.c_str(), r.c, r.want, r.mag, s.k);
    }
  }
}

TEST_CASE("gpu: pipelined (2, 3 stages) gemm is bit-identical to the unpipelined one",
          "[gpu][gemm]") {
  require_gpu();
  // Trip counts 1..9 of the K loop, below / at / not a multiple of the stage count.
  for (std::int64_t k : {32, 64, 96, 160, 288}) {
    for (bool fixed : {false, true}) {
      std::vector<float> ref;
      for (int stages : {1, 2, 3}) {
        examples::GemmConfig c;
        c.stages = stages;
        if (fixed) {
          c.n = 200;
          c.k = k;
        }
        const std::string what = fmt_case(c, {150, 200, k});
        INFO(what);
        const GemmRun r = run_gemm(c, 150, 200, k, 7); // same inputs for every stage count
        check_gemm(what.c_str(), r.c, r.want, r.mag, k);
        if (stages == 1) {
          ref = r.c;
        } else {
          CHECK(std::memcmp(ref.data(), r.c.data(), ref.size() * 4) == 0);
        }
      }
    }
  }
}

TEST_CASE("gpu: mHC pre-norm pattern (bf16 x -> f32 shared, tf32 gemm trans_b, sum x^2)",
          "[gpu][gemm][prenorm]") {
  require_gpu();
  for (int hidden : {256, 1000}) {
    for (std::int64_t tokens : {1, 45, 130}) {
      examples::PrenormGemmConfig cfg;
      cfg.hidden = hidden;
      JitOptions o;
      o.target = Target::cuda;
      const CompiledKernel ck = Runtime::compile(examples::prenorm_gemm_kernel(cfg), o);
      const auto xf = random_floats(tokens * hidden, 40 + hidden);
      const auto fnf = random_floats(cfg.n_out * hidden, 41 + hidden, -0.5f, 0.5f);
      const std::vector<bf16> x(xf.begin(), xf.end());
      DeviceBuffer dx = DeviceBuffer::from_host(x), dfn = DeviceBuffer::from_host(fnf);
      DeviceBuffer dy = poisoned(tokens * cfg.n_out * 4), dss = poisoned(tokens * 4);
      ck.launch(nullptr, dx.view(DType::bf16, {tokens, hidden}),
                dfn.view(DType::f32, {cfg.n_out, hidden}), dy.view(DType::f32, {tokens, cfg.n_out}),
                dss.view(DType::f32, {tokens}));
      std::vector<float> y(tokens * cfg.n_out), ss(tokens);
      dy.copy_to_host(y.data(), y.size() * 4);
      dss.copy_to_host(ss.data(), ss.size() * 4);
      std::vector<double> want_y(y.size(), 0.0), mag_y(y.size(), 0.0), want_ss(tokens, 0.0),
          mag_ss(tokens, 0.0);
      for (std::int64_t t = 0; t < tokens; ++t) {
        for (int q = 0; q < hidden; ++q) {
          const double v = static_cast<float>(x[t * hidden + q]); // exact in TF32
          want_ss[t] += v * v;
          mag_ss[t] += v * v;
          for (int o = 0; o < cfg.n_out; ++o) {
            const double p = v * round_tf32(fnf[o * hidden + q]);
            want_y[t * cfg.n_out + o] += p;
            mag_y[t * cfg.n_out + o] += std::fabs(p);
          }
        }
      }
      const std::string what = fmt::format("prenorm hidden {} tokens {}", hidden, tokens);
      INFO(what);
      check_gemm((what + " y").c_str(), y, want_y, mag_y, hidden);
      check_gemm((what + " sumsq").c_str(), ss, want_ss, mag_ss, hidden);
    }
  }
}
