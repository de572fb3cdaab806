// DSL kernels run on the CPU backend against C++ references: random inputs, poisoned outputs,
// every element checked; tail sizes and a single row included.
#include "base/error.h"
#include "base/float16.h"
#include "dsl/builder.h"
#include "jit/compiled_kernel.h"
#include "runtime/tensor.h"
#include "tests/codegen/cluster_kernel.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

using namespace tessera::dsl;
using tessera::CompileError;
using tessera::DType;
using tessera::float_to_bf16_bits;
using tessera::MemoryKind;
using tessera::TensorView;
using tessera::UserError;
namespace ir = tessera::ir;
namespace ops = tessera::ops;
using tessera::CompiledKernel;

namespace {

/** The kernel compiled for the CPU backend through the public facade. */
tessera::CompiledKernel compile_cpu(const tessera::ir::Kernel& k) {
  return tessera::Runtime::compile(k, tessera::Target::cpu);
}

std::vector<float> randn(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) {
    x = d(rng);
  }
  return v;
}

TensorView host(void* p, DType t, std::initializer_list<std::int64_t> shape) {
  return TensorView(p, t, shape, MemoryKind::host);
}

const float kPoison = std::numeric_limits<float>::quiet_NaN();

// y[i] = a * x[i] + b[i] with a tail: n is not a multiple of the tile.
ir::Kernel axpy_kernel(int tile_size) {
  KernelBuilder kb("axpy");
  Dim n = kb.dim("n");
  auto x = kb.input("x", f32, {n});
  auto b = kb.input("b", bf16, {n});
  auto y = kb.output("y", bf16, {n});
  Expr a = kb.scalar("a", f32);
  kb.launch(grid(ceil_div(n, tile_size)), threads(128), [&](Var blk) {
    auto xt = fragment(f32, {tile_size}, "xt");
    auto bt = fragment(f32, {tile_size}, "bt");
    copy(x[tile(blk, tile_size)], xt);
    copy(b[tile(blk, tile_size)], bt);
    parallel({tile_size}, [&](Var i) { xt[i] = a * xt[i] + bt[i]; });
    copy(xt, y[tile(blk, tile_size)]);
  });
  return kb.build();
}

} // namespace

TEST_CASE("axpy with a tail runs on the CPU and rounds to bf16 once", "[cpu][kernel]") {
  tessera::CompiledKernel k = compile_cpu(axpy_kernel(256));
  for (std::int64_t n : {1, 255, 256, 1000, 4097}) {
    std::vector<float> x = randn(n, 1);
    std::vector<float> bf = randn(n, 2);
    std::vector<tessera::bf16> b(n), y(n + 3, tessera::bf16::from_bits(0x7fc1));
    for (std::int64_t i = 0; i < n; ++i) {
      b[i] = tessera::bf16(bf[i]);
    }
    const float a = 0.75f;
    k.launch(nullptr, host(x.data(), DType::f32, {n}), host(b.data(), DType::bf16, {n}),
             host(y.data(), DType::bf16, {n}), a);
    for (std::int64_t i = 0; i < n; ++i) {
      const float want = a * x[i] + static_cast<float>(b[i]);
      INFO("n = " << n << " i = " << i);
      REQUIRE(y[i].bits == float_to_bf16_bits(want));
    }
    for (std::int64_t i = n; i < n + 3; ++i) {
      REQUIRE(y[i].bits == 0x7fc1); // nothing written past the end
    }
  }
  CHECK(k.timings().llvm_ms > 0);
}

TEST_CASE("RMSNorm: reduce, rsqrt and broadcast over rows", "[cpu][kernel]") {
  constexpr int H = 768;
  KernelBuilder kb("rmsnorm");
  Dim T = kb.dim("T");
  auto x = kb.input("x", bf16, {T, H});
  auto w = kb.input("w", f32, {H});
  auto y = kb.output("y", f32, {T, H});
  kb.launch(grid(T), threads(256), [&](Var t) {
    auto xt = fragment(f32, {H}, "xt");
    auto sq = fragment(f32, {H}, "sq");
    auto ss = fragment(f32, {1}, "ss");
    auto wt = fragment(f32, {H}, "wt");
    copy(x[t], xt);
    copy(w[all], wt);
    parallel({H}, [&](Var i) { sq[i] = xt[i] * xt[i]; });
    auto sq2 = fragment(f32, {1, H}, "sq2");
    parallel({H}, [&](Var i) { sq2[0][i] = sq[i]; });
    reduce_sum(sq2, ss, 1);
    parallel({H}, [&](Var i) { xt[i] = xt[i] * rsqrt(ss[0] / float(H) + 1e-6f) * wt[i]; });
    copy(xt, y[t]);
  });
  tessera::CompiledKernel k = compile_cpu(kb.build());
  for (std::int64_t T_ : {1, 3, 37}) {
    std::vector<float> xf = randn(T_ * H, 3), w = randn(H, 4), out(T_ * H, kPoison);
    std::vector<tessera::bf16> xb(xf.size());
    for (std::size_t i = 0; i < xf.size(); ++i) {
      xb[i] = tessera::bf16(xf[i]);
    }
    k.launch(nullptr, host(xb.data(), DType::bf16, {T_, H}), host(w.data(), DType::f32, {H}),
             host(out.data(), DType::f32, {T_, H}));
    for (std::int64_t t = 0; t < T_; ++t) {
      double ss = 0;
      for (int i = 0; i < H; ++i) {
        const double v = static_cast<float>(xb[t * H + i]);
        ss += v * v;
      }
      const double r = 1.0 / std::sqrt(ss / H + 1e-6);
      for (int i = 0; i < H; ++i) {
        const double want = static_cast<float>(xb[t * H + i]) * r * w[i];
        REQUIRE(std::abs(out[t * H + i] - want) <= 1e-5 * (1 + std::abs(want)));
      }
    }
  }
}

TEST_CASE("softmax: max, exp, sum and divide along rows", "[cpu][kernel]") {
  constexpr int N = 100; // not a power of two
  KernelBuilder kb("softmax");
  Dim T = kb.dim("T");
  auto x = kb.input("x", f32, {T, N});
  auto y = kb.output("y", f32, {T, N});
  kb.launch(grid(ceil_div(T, 4)), threads(128), [&](Var b) {
    auto xt = fragment(f32, {4, N}, "xt");
    auto m = fragment(f32, {4}, "m");
    auto s = fragment(f32, {4}, "s");
    copy(x[tile(b, 4)][all], xt);
    reduce_max(xt, m, 1);
    parallel({4, N}, [&](Var r, Var i) { xt[r][i] = exp(xt[r][i] - m[r]); });
    reduce_sum(xt, s, 1);
    parallel({4, N}, [&](Var r, Var i) { xt[r][i] = xt[r][i] / s[r]; });
    copy(xt, y[tile(b, 4)][all]);
  });
  tessera::CompiledKernel k = compile_cpu(kb.build());
  for (std::int64_t T_ : {1, 6, 33}) {
    std::vector<float> xv = randn(T_ * N, 5), out(T_ * N, kPoison);
    for (float& v : xv) {
      v *= 4;
    }
    k.launch(nullptr, host(xv.data(), DType::f32, {T_, N}), host(out.data(), DType::f32, {T_, N}));
    for (std::int64_t t = 0; t < T_; ++t) {
      double mx = -INFINITY, sum = 0;
      for (int i = 0; i < N; ++i) {
        mx = std::max(mx, double(xv[t * N + i]));
      }
      for (int i = 0; i < N; ++i) {
        sum += std::exp(xv[t * N + i] - mx);
      }
      for (int i = 0; i < N; ++i) {
        const double want = std::exp(xv[t * N + i] - mx) / sum;
        REQUIRE(std::abs(out[t * N + i] - want) <= 2e-6 * want + 1e-9);
      }
    }
  }
}

TEST_CASE("gemm: fp32, tf32, split tf32x3 and bf16 tiles, plain and transposed", "[cpu][kernel]") {
  constexpr int M = 16, N = 24, K = 40;
  struct Case {
    DType dtype;
    ops::GemmPrecision prec;
  };
  for (bool trans_b : {false, true}) {
    for (Case cs :
         {Case{DType::f32, ops::GemmPrecision::fp32}, Case{DType::f32, ops::GemmPrecision::tf32},
          Case{DType::f32, ops::GemmPrecision::tf32x3},
          Case{DType::bf16, ops::GemmPrecision::fp32}}) {
      const DType dt = cs.dtype;
      KernelBuilder kb("gemm_tile");
      auto a = kb.input("a", dt, {M, K});
      auto bm = trans_b ? kb.input("b", dt, {N, K}) : kb.input("b", dt, {K, N});
      auto c = kb.output("c", f32, {M, N});
      kb.launch(grid(1), threads(128), [&](Var) {
        auto as = shared(dt, {M, K}, "as");
        auto bs = trans_b ? shared(dt, {N, K}, "bs") : shared(dt, {K, N}, "bs");
        auto acc = fragment(f32, {M, N}, "acc");
        copy(a[all][all], as);
        copy(bm[all][all], bs);
        gemm(as, bs, acc, GemmOptions{false, trans_b, true, cs.prec});
        copy(acc, c[all][all]);
      });
      tessera::CompiledKernel k = compile_cpu(kb.build());
      std::vector<float> av = randn(M * K, 6), bv = randn(K * N, 7), out(M * N, kPoison);
      std::vector<tessera::bf16> ab(av.size()), bb(bv.size());
      if (dt == DType::bf16) { // the values the kernel sees
        for (std::size_t i = 0; i < av.size(); ++i) {
          ab[i] = tessera::bf16(av[i]);
          av[i] = static_cast<float>(ab[i]);
        }
        for (std::size_t i = 0; i < bv.size(); ++i) {
          bb[i] = tessera::bf16(bv[i]);
          bv[i] = static_cast<float>(bb[i]);
        }
      }
      void* ap = dt == DType::bf16 ? static_cast<void*>(ab.data()) : av.data();
      void* bp = dt == DType::bf16 ? static_cast<void*>(bb.data()) : bv.data();
      k.launch(nullptr, host(ap, dt, {M, K}), trans_b ? host(bp, dt, {N, K}) : host(bp, dt, {K, N}),
               host(out.data(), DType::f32, {M, N}));
      for (int m = 0; m < M; ++m) {
        for (int n = 0; n < N; ++n) {
          double want = 0, mag = 0;
          for (int kk = 0; kk < K; ++kk) {
            const double p = double(av[m * K + kk]) * (trans_b ? bv[n * K + kk] : bv[kk * N + n]);
            want += p;
            mag += std::abs(p);
          }
          // tf32 keeps 10 mantissa bits of each operand: relative error per product < 2^-10;
          // tf32x3 (hi·hi + hi·lo + lo·hi) < 2^-20, which the fp32 bound covers.
          const double tol =
              cs.prec == ops::GemmPrecision::tf32 && dt == DType::f32 ? 1e-3 * mag : 1e-6 * mag;
          INFO("trans_b " << trans_b << " dtype " << tessera::dtype_name(dt) << " m " << m << " n "
                          << n);
          REQUIRE(std::abs(out[m * N + n] - want) <= tol + 1e-6);
        }
      }
    }
  }
}

TEST_CASE("explicit thread indices, barriers, shared memory and warp ops",
          "[cpu][kernel][threads]") {
  constexpr int kThreads = 128;
  KernelBuilder kb("threads");
  Dim B = kb.dim("B");
  auto x = kb.input("x", f32, {B, kThreads});
  auto y = kb.output("y", f32, {B, kThreads});
  auto wsum = kb.output("wsum", f32, {B, kThreads / 32});
  auto total = kb.output("total", f32, {1});
  kb.launch(grid(B), threads(kThreads), [&](Var b) {
    auto s = shared(f32, {kThreads}, "s");
    auto v = local(f32, {}, "v");
    v = 0.0f;
    thread_range(0, kThreads, [&] {
      v = x[b][thread_idx()];
      s[thread_idx()] = v * 2.0f;
    });
    barrier();
    // Reads another thread's shared value: only correct if the barrier is honoured.
    y[b][thread_idx()] = s[(thread_idx() + 1) % kThreads] + v;
    auto r = local(f32, {}, "r");
    r = warp_sum(v, 32);
    if_(lane_idx() == 0, [&] { wsum[b][warp_idx()] = r; });
    thread_range(0, 1, [&] { atomic_add(total[0], s[0]); });
  });
  tessera::CompiledKernel k = compile_cpu(kb.build());
  const std::int64_t nb = 7;
  std::vector<float> xv = randn(nb * kThreads, 8), out(nb * kThreads, kPoison),
                     ws(nb * kThreads / 32, kPoison), tot(1, 0.0f);
  k.launch(nullptr, host(xv.data(), DType::f32, {nb, kThreads}),
           host(out.data(), DType::f32, {nb, kThreads}),
           host(ws.data(), DType::f32, {nb, kThreads / 32}), host(tot.data(), DType::f32, {1}));
  double want_total = 0;
  for (std::int64_t b = 0; b < nb; ++b) {
    want_total += 2.0f * xv[b * kThreads];
    for (int t = 0; t < kThreads; ++t) {
      const float want = xv[b * kThreads + (t + 1) % kThreads] * 2.0f + xv[b * kThreads + t];
      REQUIRE(out[b * kThreads + t] == want);
    }
    for (int w = 0; w < kThreads / 32; ++w) {
      // The device's butterfly order: for off = 16..1, v += shfl_xor(v, off).
      float lanes[32];
      for (int l = 0; l < 32; ++l) {
        lanes[l] = xv[b * kThreads + w * 32 + l];
      }
      for (int off = 16; off > 0; off /= 2) {
        float next[32];
        for (int l = 0; l < 32; ++l) {
          next[l] = lanes[l] + lanes[l ^ off];
        }
        std::copy(next, next + 32, lanes);
      }
      REQUIRE(ws[b * kThreads / 32 + w] == lanes[0]);
    }
  }
  CHECK(std::abs(tot[0] - want_total) <= 1e-5 * (1 + std::abs(want_total)));
}

TEST_CASE("launch errors name the kernel and the argument", "[cpu][kernel][errors]") {
  tessera::CompiledKernel k = compile_cpu(axpy_kernel(256));
  std::vector<float> x(10);
  std::vector<tessera::bf16> b(10), y(10), y9(9);
  auto xv = host(x.data(), DType::f32, {10});
  auto bv = host(b.data(), DType::bf16, {10});
  auto yv = host(y.data(), DType::bf16, {10});
  auto y9v = host(y9.data(), DType::bf16, {9});
  CHECK_THROWS_WITH(k.launch(nullptr, xv, bv, yv), Catch::Contains("takes 4 arguments"));
  CHECK_THROWS_WITH(k.launch(nullptr, xv, bv, y9v, 1.0f), Catch::Contains("'y'"));
  CHECK_THROWS_WITH(k.launch(nullptr, xv, xv, yv, 1.0f), Catch::Contains("must be bf16"));
  CHECK_THROWS_WITH(k.launch(nullptr, xv, bv, yv, 1.0), Catch::Contains("must be f32"));
  TensorView dev(x.data(), DType::f32, {10}, MemoryKind::cuda);
  CHECK_THROWS_WITH(k.launch(nullptr, dev, bv, yv, 1.0f), Catch::Contains("host memory"));
  CHECK_THROWS_AS(k.launch(nullptr, xv, bv, y9v, 1.0f), UserError);
}

TEST_CASE("a barrier under a thread-dependent branch is a clear CompileError",
          "[cpu][kernel][errors]") {
  KernelBuilder kb("divergent_barrier");
  auto y = kb.output("y", f32, {128});
  kb.launch(grid(1), threads(128), [&](Var) {
    auto s = shared(f32, {128}, "s");
    if_(thread_idx() < 64, [&] {
      s[thread_idx()] = 1.0f;
      barrier();
    });
    y[thread_idx()] = s[thread_idx()];
  });
  ir::Kernel kernel;
  try {
    kernel = kb.build();
  } catch (const UserError&) {
    SUCCEED("the verifier already rejects it");
    return;
  }
  CHECK_THROWS_WITH(compile_cpu(kernel), Catch::Contains("divergent_barrier") &&
                                             Catch::Contains("not supported by the CPU"));
}

TEST_CASE("a local copied to a thread-dependent place is each thread's own data",
          "[cpu][kernel][threads]") {
  // Thread t loads 8 elements of row t / 8 (16-byte vectors), scales them, and stores its
  // registers twice: to global at the same place, and into row t / 8 of a shared tile that the
  // block then copies out collectively. Two tails: the last token row of the grid is partial
  // (T = 21 rows, 16 per block), and the shared tile's rows are padded.
  constexpr int kThreads = 128, kRowsPerBlock = 16, kW = 64;
  KernelBuilder kb("own");
  Dim T = kb.dim("T");
  auto x = kb.input("x", bf16, {T, kW});
  auto y = kb.output("y", bf16, {T, kW});
  auto z = kb.output("z", f32, {T, kW});
  kb.launch(grid(ceil_div(T, Expr(kRowsPerBlock))), threads(kThreads), [&](Var b) {
    auto s = shared(f32, {kRowsPerBlock, kW}, "s", RowPad{4});
    Expr row = b * kRowsPerBlock + thread_idx() / 8;
    Expr col = (thread_idx() % 8) * 8;
    auto v = local(bf16, {8}, "v");
    copy(x[row][range(col, 8)], v);
    auto w = local(f32, {8}, "w");
    for (int e = 0; e < 8; ++e) {
      w[e] = Expr(v[e]) * 3.0f + Expr(static_cast<float>(e));
    }
    copy(w, y[row][range(col, 8)]);
    copy(w, s[thread_idx() / 8][range(col, 8)]);
    copy(s, z[tile(b, kRowsPerBlock)]);
  });
  const tessera::ir::Kernel kernel = kb.build();
  tessera::CompiledKernel k = compile_cpu(kernel);
  const std::int64_t rows = 21;
  std::vector<tessera::bf16> xv(rows * kW), yv(rows * kW, tessera::bf16::from_bits(0x7fc1));
  const std::vector<float> r = randn(rows * kW, 3);
  for (std::size_t i = 0; i < xv.size(); ++i) {
    xv[i] = tessera::bf16(r[i]);
  }
  std::vector<float> zv(rows * kW, kPoison);
  k.launch(nullptr, host(xv.data(), DType::bf16, {rows, kW}),
           host(yv.data(), DType::bf16, {rows, kW}), host(zv.data(), DType::f32, {rows, kW}));
  for (std::int64_t i = 0; i < rows * kW; ++i) {
    const float want = static_cast<float>(xv[i]) * 3.0f + static_cast<float>(i % 8);
    REQUIRE(yv[i].bits == float_to_bf16_bits(want));
    REQUIRE(zv[i] == want);
  }
  // The CUDA form: one 16-byte load and two 16-byte stores per thread (plus the collective copy),
  // no element loop dealt over the threads.
  const std::string cuda = tessera::Runtime::compile_for(kernel, "sm_90a").cuda_source();
  CHECK(cuda.find("tessera::load_vec<8>(x + ") != std::string::npos);
  CHECK(cuda.find("tessera::store_vec<8>(y + ") != std::string::npos);
  CHECK(cuda.find("== thread_idx") == std::string::npos);
}

TEST_CASE("cluster barrier: the blocks of a cluster run together and see each other's writes",
          "[cpu][kernel][cluster]") {
  using namespace tessera::testing;
  tessera::CompiledKernel k = compile_cpu(cluster_exchange_kernel());
  for (const int clusters : {1, 3, 16}) {
    const std::size_t n = static_cast<std::size_t>(clusters) * kClusterSize * kClusterRow;
    std::vector<float> x = randn(n, 40 + clusters), work(n, kPoison), y(n, kPoison);
    auto view = [&](std::vector<float>& v) {
      return host(v.data(), DType::f32, {clusters, kClusterSize, kClusterRow});
    };
    k.launch(nullptr, view(x), view(work), view(y));
    INFO("clusters " << clusters);
    CHECK(y == cluster_exchange_reference(x, clusters)); // exact: same order, no NaN
  }
  // A grid the cluster does not divide is refused, not run.
  KernelBuilder kb("bad_cluster");
  Dim g = kb.dim("g");
  auto out = kb.output("out", f32, {g});
  kb.cluster({4});
  kb.launch(grid(g), threads(32), [&](Var b) {
    cluster_barrier();
    if_(thread_idx() == 0, [&] { out[b] = 1.0f; });
  });
  tessera::CompiledKernel bad = compile_cpu(kb.build());
  std::vector<float> o(6, 0.0f);
  CHECK_THROWS_AS(bad.launch(nullptr, host(o.data(), DType::f32, {6})), UserError);
}
