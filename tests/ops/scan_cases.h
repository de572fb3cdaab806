/** \file
 * The cumsum kernels and reference both scan tests run (CPU backend here, a GPU in
 * scan_gpu_test.cpp): rows of x scanned into y, with tails, several chunks per thread, one and
 * several warps, a bf16 destination and an in-place scan.
 */
#pragma once

#include "dsl/builder.h"
#include "ir/ir.h"

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace tessera::test {

struct ScanCase {
  int n;       ///< row length (the scanned axis)
  int rows;    ///< rows per block
  int threads; ///< threads per block
  bool in_place = false;
  DType out = DType::f32;

  std::string name() const {
    return "n=" + std::to_string(n) + " rows=" + std::to_string(rows) +
           " threads=" + std::to_string(threads) + (in_place ? " in-place" : "") +
           (out == DType::bf16 ? " bf16" : "");
  }
};

inline const std::vector<ScanCase>& scan_cases() {
  static const std::vector<ScanCase> cases = {
      {.n = 1000, .rows = 2, .threads = 128},                   // tail: 1000 % (128 * 4) != 0
      {.n = 4096, .rows = 1, .threads = 256},                   // 4 chunks per thread
      {.n = 64, .rows = 4, .threads = 32},                      // one warp, one chunk
      {.n = 2048, .rows = 3, .threads = 96, .in_place = true},  // 3 warps, odd thread count
      {.n = 777, .rows = 1, .threads = 64, .out = DType::bf16}, // rounded once at the store
  };
  return cases;
}

/** y[t, :] = cumsum(x[t, :]) for x: f32[T, n], one block per `rows` rows. */
inline ir::Kernel scan_kernel(const ScanCase& c) {
  using namespace tessera::dsl;
  KernelBuilder kb("cumsum_rows");
  Dim T = kb.dim("T");
  auto x = kb.input("x", f32, {T, c.n});
  auto y = kb.output("y", c.out, {T, c.n});
  kb.launch(grid(ceil_div(T, c.rows)), threads(c.threads), [&](Var b) {
    auto a = fragment(f32, {c.rows, c.n}, "a");
    copy(x[tile(b, c.rows)][all], a);
    if (c.in_place) {
      cumsum(a, a);
      copy(a, y[tile(b, c.rows)][all]);
    } else {
      auto s = fragment(f32, {c.rows, c.n}, "s");
      cumsum(a, s);
      copy(s, y[tile(b, c.rows)][all]);
    }
  });
  return kb.build();
}

inline std::vector<float> scan_input(std::int64_t count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(static_cast<std::size_t>(count));
  for (float& e : v) {
    e = d(rng);
  }
  return v;
}

/** Counts elements of `got` (row-major [T, n]) outside the bound of the exact prefix sums: fp32
 *  accumulation adds at most ~20 roundings (V-run, log2 P tree rounds, chunk carries), each
 *  within 2^-24 of a partial sum no larger than Σ|x| of the prefix; a bf16 store adds half an
 *  ulp of bf16. Reports the first few through `report`. */
template <class Get, class Report>
std::int64_t scan_mismatches(const std::vector<float>& x, std::int64_t T, int n, bool bf16_out,
                             Get&& got, Report&& report) {
  std::int64_t bad = 0;
  for (std::int64_t t = 0; t < T; ++t) {
    double sum = 0, magnitude = 0;
    for (int i = 0; i < n; ++i) {
      const double v = x[static_cast<std::size_t>(t * n + i)];
      sum += v;
      magnitude += std::fabs(v);
      const double bound =
          24 * std::ldexp(magnitude, -24) + (bf16_out ? std::ldexp(std::fabs(sum), -8) : 0.0);
      const double g = got(t * n + i);
      if (!(std::fabs(g - sum) <= bound)) {
        if (bad++ < 5) {
          report(t, i, g, sum);
        }
      }
    }
  }
  return bad;
}

} // namespace tessera::test
