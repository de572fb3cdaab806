// Every example kernel (examples/kernels.h, examples/gemm_kernel.h) runs on the CPU backend and
// matches a higher-precision C++ reference: random inputs, poisoned outputs, tails and one row.
#include "base/float16.h"
#include "examples/gemm_kernel.h"
#include "examples/kernels.h"
#include "jit/compiled_kernel.h"
#include "runtime/tensor.h"

#include <array>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

using namespace tessera;

namespace {

/** The kernel compiled for the CPU backend through the public facade. */
tessera::CompiledKernel compile_cpu(const tessera::ir::Kernel& k) {
  return tessera::Runtime::compile(k, tessera::Target::cpu);
}

std::vector<float> randn(std::size_t n, std::uint64_t seed, float scale = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) {
    x = d(rng);
  }
  return v;
}

std::vector<bf16> to_bf16(const std::vector<float>& v) {
  std::vector<bf16> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    out[i] = bf16(v[i]);
  }
  return out;
}

TensorView host(const void* p, DType t, std::initializer_list<std::int64_t> shape) {
  return TensorView(const_cast<void*>(p), t, shape, MemoryKind::host);
}

const float kNaN = std::numeric_limits<float>::quiet_NaN();
const bf16 kPoison = bf16::from_bits(0x7fc1);

// |got - want| within one bf16 rounding of want plus a little fp32 slack.
bool bf16_close(bf16 got, double want) {
  return std::abs(static_cast<float>(got) - want) <= std::abs(want) * (1.0 / 256) + 1e-6;
}

} // namespace

TEST_CASE("example vector_add on the CPU", "[cpu][examples]") {
  tessera::CompiledKernel k = compile_cpu(examples::vector_add());
  for (std::int64_t n : {1, 1000, 1024, 5000}) {
    auto x = randn(n, 1), y = randn(n, 2);
    std::vector<float> z(n, kNaN);
    k.launch(nullptr, host(x.data(), DType::f32, {n}), host(y.data(), DType::f32, {n}),
             host(z.data(), DType::f32, {n}));
    for (std::int64_t i = 0; i < n; ++i) {
      REQUIRE(z[i] == x[i] + y[i]);
    }
  }
}

TEST_CASE("example rmsnorm on the CPU", "[cpu][examples]") {
  constexpr int H = 1000; // not a multiple of the threads
  tessera::CompiledKernel k = compile_cpu(examples::rmsnorm(H, 1e-6f));
  for (std::int64_t T : {1, 7}) {
    auto x = to_bf16(randn(T * H, 3)), w = to_bf16(randn(H, 4, 0.1f));
    std::vector<bf16> y(T * H, kPoison);
    k.launch(nullptr, host(x.data(), DType::bf16, {T, H}), host(w.data(), DType::bf16, {H}),
             host(y.data(), DType::bf16, {T, H}));
    for (std::int64_t t = 0; t < T; ++t) {
      double ss = 0;
      for (int h = 0; h < H; ++h) {
        ss += std::pow(static_cast<float>(x[t * H + h]), 2);
      }
      const double r = 1.0 / std::sqrt(ss / H + 1e-6);
      for (int h = 0; h < H; ++h) {
        const double want = static_cast<float>(x[t * H + h]) * r * static_cast<float>(w[h]);
        INFO("t " << t << " h " << h);
        REQUIRE(bf16_close(y[t * H + h], want));
      }
    }
  }
}

TEST_CASE("example softmax on the CPU", "[cpu][examples]") {
  constexpr int C = 777;
  tessera::CompiledKernel k = compile_cpu(examples::softmax(C));
  for (std::int64_t R : {1, 5}) {
    auto x = randn(R * C, 5, 3.0f);
    std::vector<float> y(R * C, kNaN);
    k.launch(nullptr, host(x.data(), DType::f32, {R, C}), host(y.data(), DType::f32, {R, C}));
    for (std::int64_t r = 0; r < R; ++r) {
      double mx = -INFINITY, sum = 0;
      for (int c = 0; c < C; ++c) {
        mx = std::max(mx, double(x[r * C + c]));
      }
      for (int c = 0; c < C; ++c) {
        sum += std::exp(x[r * C + c] - mx);
      }
      for (int c = 0; c < C; ++c) {
        const double want = std::exp(x[r * C + c] - mx) / sum;
        REQUIRE(std::abs(y[r * C + c] - want) <= 2e-6 * want + 1e-12);
      }
    }
  }
}

TEST_CASE("example gated_residual (tutorial) on the CPU", "[cpu][examples]") {
  constexpr int H = 2048;
  tessera::CompiledKernel k = compile_cpu(examples::gated_residual(H));
  for (std::int64_t T : {1, 3}) {
    auto x = to_bf16(randn(T * H, 6)), y = to_bf16(randn(T * H, 7));
    auto gate = randn(T, 8);
    std::vector<bf16> out(T * H, kPoison);
    const float scale = 0.5f;
    k.launch(nullptr, host(x.data(), DType::bf16, {T, H}), host(y.data(), DType::bf16, {T, H}),
             host(gate.data(), DType::f32, {T}), host(out.data(), DType::bf16, {T, H}), scale);
    for (std::int64_t t = 0; t < T; ++t) {
      const double g = scale / (1.0 + std::exp(-double(gate[t])));
      for (int h = 0; h < H; ++h) {
        const double want = static_cast<float>(x[t * H + h]) + g * static_cast<float>(y[t * H + h]);
        REQUIRE(bf16_close(out[t * H + h], want));
      }
    }
  }
}

TEST_CASE("example gemm (bf16, pipelined, tails in M, N, K) on the CPU", "[cpu][examples]") {
  examples::GemmConfig cfg;
  tessera::CompiledKernel k = compile_cpu(examples::gemm_kernel(cfg));
  for (auto [M, N, K] : {std::array<std::int64_t, 3>{1, 1, 1}, {70, 50, 45}, {130, 129, 64}}) {
    auto a = to_bf16(randn(M * K, 9)), b = to_bf16(randn(K * N, 10));
    std::vector<float> c(M * N, kNaN);
    k.launch(nullptr, host(a.data(), DType::bf16, {M, K}), host(b.data(), DType::bf16, {K, N}),
             host(c.data(), DType::f32, {M, N}));
    for (std::int64_t m = 0; m < M; ++m) {
      for (std::int64_t n = 0; n < N; ++n) {
        double want = 0, mag = 0;
        for (std::int64_t kk = 0; kk < K; ++kk) {
          const double p =
              double(static_cast<float>(a[m * K + kk])) * static_cast<float>(b[kk * N + n]);
          want += p;
          mag += std::abs(p);
        }
        INFO("M N K " << M << " " << N << " " << K << " at " << m << ", " << n);
        REQUIRE(std::abs(c[m * N + n] - cfg.alpha * want) <= 1e-6 * mag + 1e-6);
      }
    }
  }
}
