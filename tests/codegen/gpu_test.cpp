// DSL kernels executed on a GPU and compared with CPU references: random inputs, NaN-poisoned
// outputs (an element the kernel forgets to write fails), tails, several block counts, the
// dynamic dim at 0, 1 and large values. Needs a CUDA device: without one every test FAILS.
#include "base/float16.h"
#include "dsl/builder.h"
#include "examples/kernels.h"
#include "jit/compiled_kernel.h"
#include "runtime/driver.h"
#include "runtime/memory.h"
#include "tests/codegen/cluster_kernel.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <random>

using namespace tessera;
namespace dsl = tessera::dsl;

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

std::vector<bf16> to_bf16(const std::vector<float>& v) {
  std::vector<bf16> out;
  for (float x : v) {
    out.emplace_back(x);
  }
  return out;
}

DeviceBuffer poisoned(std::size_t bytes) {
  DeviceBuffer b(std::max<std::size_t>(bytes, 16));
  b.fill_bytes(0xff); // NaN in f32 and bf16
  return b;
}

template <class T>
void check_all(const std::vector<T>& got, const std::vector<double>& want, double atol,
               double rtol) {
  REQUIRE(got.size() == want.size());
  std::size_t bad = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const double g = static_cast<float>(got[i]);
    if (!(std::fabs(g - want[i]) <= atol + rtol * std::fabs(want[i]))) {
      if (bad++ < 5) {
        UNSCOPED_INFO("element " << i << ": got " << g << ", expected " << want[i]);
      }
    }
  }
  CHECK(bad == 0);
}

} // namespace

TEST_CASE("gpu: vector_add, tails and large n", "[gpu][codegen]") {
  require_gpu();
  const CompiledKernel k = Runtime::compile(examples::vector_add());
  for (std::int64_t n : {1, 3, 1000, 1024, 4097, (1 << 20) + 3, (1 << 24) + 5}) {
    INFO("n = " << n);
    const auto x = random_floats(n, 1), y = random_floats(n, 2);
    DeviceBuffer dx = DeviceBuffer::from_host(x), dy = DeviceBuffer::from_host(y);
    DeviceBuffer dz = poisoned(n * 4);
    k.launch(nullptr, dx.view(DType::f32, {n}), dy.view(DType::f32, {n}), dz.view(DType::f32, {n}));
    const auto z = dz.to_host<float>(n);
    std::vector<double> want(n);
    for (std::int64_t i = 0; i < n; ++i) {
      want[i] = x[i] + y[i]; // one f32 rounding, as on the GPU
    }
    check_all(z, want, 0, 0);
  }
}

TEST_CASE("gpu: zero-length launch does nothing", "[gpu][codegen]") {
  require_gpu();
  const CompiledKernel k = Runtime::compile(examples::rmsnorm(4096));
  DeviceBuffer d(16);
  CHECK_NOTHROW(k.launch(nullptr, d.view(DType::bf16, {0, 4096}),
                         DeviceBuffer(8192).view(DType::bf16, {4096}),
                         d.view(DType::bf16, {0, 4096})));
  synchronize_device();
}

TEST_CASE("gpu: rmsnorm, aligned and tail hidden sizes", "[gpu][codegen]") {
  require_gpu();
  const float eps = 1e-6f;
  for (int hidden : {4096, 4100, 64, 7168}) {
    const CompiledKernel k = Runtime::compile(examples::rmsnorm(hidden, eps));
    for (std::int64_t tokens : {1, 7, 300}) {
      INFO("hidden = " << hidden << ", tokens = " << tokens);
      const auto x = to_bf16(random_floats(tokens * hidden, 3));
      const auto w = to_bf16(random_floats(hidden, 4, 0.5f, 1.5f));
      DeviceBuffer dx = DeviceBuffer::from_host(x), dw = DeviceBuffer::from_host(w);
      DeviceBuffer dy = poisoned(tokens * hidden * 2);
      k.launch(nullptr, dx.view(DType::bf16, {tokens, hidden}), dw.view(DType::bf16, {hidden}),
               dy.view(DType::bf16, {tokens, hidden}));
      const auto y = dy.to_host<bf16>(tokens * hidden);
      std::vector<double> want(tokens * hidden);
      for (std::int64_t t = 0; t < tokens; ++t) {
        double ss = 0;
        for (int h = 0; h < hidden; ++h) {
          const double v = static_cast<float>(x[t * hidden + h]);
          ss += v * v;
        }
        const double r = 1.0 / std::sqrt(ss / hidden + eps);
        for (int h = 0; h < hidden; ++h) {
          want[t * hidden + h] =
              static_cast<float>(x[t * hidden + h]) * r * static_cast<float>(w[h]);
        }
      }
      check_all(y, want, 1e-6, 1.0 / 256); // one bf16 rounding: <= 2^-9 relative
    }
  }
}

TEST_CASE("gpu: softmax rows", "[gpu][codegen]") {
  require_gpu();
  for (int cols : {1024, 1000, 37, 4096}) {
    const CompiledKernel k = Runtime::compile(examples::softmax(cols));
    for (std::int64_t rows : {1, 333}) {
      INFO("cols = " << cols << ", rows = " << rows);
      const auto x = random_floats(rows * cols, 5, -8, 8);
      DeviceBuffer dx = DeviceBuffer::from_host(x);
      DeviceBuffer dy = poisoned(rows * cols * 4);
      k.launch(nullptr, dx.view(DType::f32, {rows, cols}), dy.view(DType::f32, {rows, cols}));
      const auto y = dy.to_host<float>(rows * cols);
      std::vector<double> want(rows * cols);
      for (std::int64_t r = 0; r < rows; ++r) {
        double m = -INFINITY, s = 0;
        for (int c = 0; c < cols; ++c) {
          m = std::max(m, static_cast<double>(x[r * cols + c]));
        }
        for (int c = 0; c < cols; ++c) {
          s += std::exp(x[r * cols + c] - m);
        }
        for (int c = 0; c < cols; ++c) {
          want[r * cols + c] = std::exp(x[r * cols + c] - m) / s;
        }
      }
      check_all(y, want, 1e-9, 2e-5);
    }
  }
}

TEST_CASE("gpu: tutorial kernel with a scalar and a per-thread local", "[gpu][codegen]") {
  require_gpu();
  for (int hidden : {2048, 100}) {
    const CompiledKernel k = Runtime::compile(examples::gated_residual(hidden));
    for (std::int64_t tokens : {1, 65}) {
      INFO("hidden = " << hidden << ", tokens = " << tokens);
      const float scale = 0.75f;
      const auto x = to_bf16(random_floats(tokens * hidden, 6));
      const auto y = to_bf16(random_floats(tokens * hidden, 7));
      const auto gate = random_floats(tokens, 8);
      DeviceBuffer dx = DeviceBuffer::from_host(x), dy = DeviceBuffer::from_host(y);
      DeviceBuffer dg = DeviceBuffer::from_host(gate);
      DeviceBuffer dout = poisoned(tokens * hidden * 2);
      k.launch(nullptr, dx.view(DType::bf16, {tokens, hidden}),
               dy.view(DType::bf16, {tokens, hidden}), dg.view(DType::f32, {tokens}),
               dout.view(DType::bf16, {tokens, hidden}), scale);
      const auto out = dout.to_host<bf16>(tokens * hidden);
      std::vector<double> want(tokens * hidden);
      for (std::int64_t t = 0; t < tokens; ++t) {
        const double g = scale / (1.0 + std::exp(-static_cast<double>(gate[t])));
        for (int h = 0; h < hidden; ++h) {
          const std::int64_t i = t * hidden + h;
          want[i] = static_cast<float>(x[i]) + g * static_cast<float>(y[i]);
        }
      }
      check_all(out, want, 1e-6, 1.0 / 256);
    }
  }
}

TEST_CASE("gpu: a read against the partition goes through shared memory", "[gpu][codegen]") {
  require_gpu();
  using namespace dsl;
  KernelBuilder kb("reverse_rows");
  Dim T = kb.dim("T");
  auto x = kb.input("x", dsl::bf16, {T, 1024});
  auto y = kb.output("y", dsl::bf16, {T, 1024});
  kb.launch(grid(T), threads(128), [&](Var t) {
    auto b = fragment(dsl::f32, {1024}, "b");
    auto r = fragment(dsl::f32, {1024}, "r");
    copy(x[t], b);
    parallel({1024}, [&](Var h) { r[h] = b[1023 - h]; });
    copy(r, y[t]);
  });
  const CompiledKernel k = Runtime::compile(kb.build());
  const std::int64_t tokens = 9;
  const auto xs = to_bf16(random_floats(tokens * 1024, 9));
  DeviceBuffer dx = DeviceBuffer::from_host(xs);
  DeviceBuffer dy = poisoned(tokens * 1024 * 2);
  k.launch(nullptr, dx.view(DType::bf16, {tokens, 1024}), dy.view(DType::bf16, {tokens, 1024}));
  const auto ys = dy.to_host<tessera::bf16>(tokens * 1024);
  std::vector<double> want(tokens * 1024);
  for (std::int64_t t = 0; t < tokens; ++t) {
    for (int h = 0; h < 1024; ++h) {
      want[t * 1024 + h] = static_cast<float>(xs[t * 1024 + 1023 - h]);
    }
  }
  check_all(ys, want, 0, 0);
}

TEST_CASE("gpu: 2-D grid, thread range, block reduction, atomics, PDL launch", "[gpu][codegen]") {
  require_gpu();
  using namespace dsl;
  KernelBuilder kb("row_sums");
  Dim T = kb.dim("T");
  auto x = kb.input("x", f32, {T, 512});
  auto total = kb.output("total", f32, {T});
  kb.launch(grid(T, 2), threads(128), [&](Var t, Var half) {
    pdl_wait();
    thread_range(64, 128, [&] {
      auto f = fragment(f32, {256}, "f");
      copy(x[t][tile(half, 256)], f);
      auto s = fragment(f32, {}, "s");
      reduce_sum(f, s, 0);
      if_(thread_idx() == 64, [&] { atomic_add(total[t], s); });
    });
    pdl_trigger();
  });
  const CompiledKernel k = Runtime::compile(kb.build());
  for (std::int64_t tokens : {1, 1000}) {
    INFO("tokens = " << tokens);
    const auto xs = random_floats(tokens * 512, 10);
    DeviceBuffer dx = DeviceBuffer::from_host(xs);
    DeviceBuffer dt(tokens * 4);
    dt.fill_bytes(0);
    KernelLaunchOptions o;
    o.pdl = true;
    k.launch(o, dx.view(DType::f32, {tokens, 512}), dt.view(DType::f32, {tokens}));
    const auto got = dt.to_host<float>(tokens);
    std::vector<double> want(tokens, 0.0);
    for (std::int64_t t = 0; t < tokens; ++t) {
      for (int h = 0; h < 512; ++h) {
        want[t] += xs[t * 512 + h];
      }
    }
    check_all(got, want, 1e-4, 1e-5);
  }
}

TEST_CASE("gpu: a cluster barrier orders the global writes of a cluster's blocks",
          "[gpu][codegen][cluster]") {
  require_gpu();
  using namespace tessera::testing;
  tessera::CompiledKernel k = Runtime::compile(cluster_exchange_kernel());
  for (const int clusters : {1, 5, 300}) {
    const std::size_t n = static_cast<std::size_t>(clusters) * kClusterSize * kClusterRow;
    const std::vector<float> x = random_floats(n, 70 + clusters);
    DeviceBuffer dx = DeviceBuffer::from_host(x), dwork = poisoned(n * 4), dy = poisoned(n * 4);
    const std::initializer_list<std::int64_t> shape = {clusters, kClusterSize, kClusterRow};
    k.launch(nullptr, dx.view(DType::f32, shape), dwork.view(DType::f32, shape),
             dy.view(DType::f32, shape));
    INFO("clusters " << clusters);
    CHECK(dy.to_host<float>(n) == cluster_exchange_reference(x, clusters));
  }
}
