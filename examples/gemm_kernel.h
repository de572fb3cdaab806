/** \file
 * The example bf16 GEMM as a DSL program: C[M, N] = A[M, K] · B[K, N], fp32 accumulation on
 * tensor cores, a `pipelined` K loop over shared tiles, bounds-safe tails in M, N and K (global
 * copies zero-fill out-of-range elements and clip stores). Used by examples/gemm.cpp, the gemm
 * tests and bench/gemm_bench.cpp.
 */
#pragma once

#include "dsl/builder.h"

namespace tessera::examples {

struct GemmConfig {
  int block_m = 128, block_n = 128, block_k = 32;
  int threads = 128;
  int stages = 3; ///< 1 = not pipelined
  DType in = DType::bf16;
  DType out = DType::f32;
  float alpha = 1.0f; ///< C = alpha · A·B
  /** > 0: N / K are compile-time constants instead of dynamic dims. Constant row lengths that
   *  are multiples of 8 let the tile loads be proven 16-byte aligned, so they become cp.async
   *  and the pipelined K loop overlaps loads with the mma (dynamic N / K fall back to scalar,
   *  synchronous loads). */
  std::int64_t n = 0, k = 0;
  /** f32 inputs: tf32 tensor cores (default) or exact-fp32 FFMA (GemmPrecision::fp32). */
  ops::GemmPrecision precision = ops::GemmPrecision::tf32;
};

/** M (and N, K unless fixed by the config) are dynamic dims ("M", "N", "K"); the grid is
 *  ceil(N / block_n) × ceil(M / block_m). */
inline ir::Kernel gemm_kernel(const GemmConfig& c = {}) {
  using namespace tessera::dsl;
  KernelBuilder kb("gemm");
  Dim M = kb.dim("M");
  Dim N = c.n > 0 ? Expr(c.n) : kb.dim("N");
  Dim K = c.k > 0 ? Expr(c.k) : kb.dim("K");
  auto a = kb.input("A", c.in, {M, K});
  auto b = kb.input("B", c.in, {K, N});
  auto out = kb.output("C", c.out, {M, N});
  kb.launch(grid(ceil_div(N, c.block_n), ceil_div(M, c.block_m)), threads(c.threads),
            [&](Var bn, Var bm) {
              auto acc = fragment(DType::f32, {c.block_m, c.block_n}, "acc");
              clear(acc);
              pipelined(ceil_div(K, c.block_k), c.stages, [&](Var k) {
                auto a_s = shared(c.in, {c.block_m, c.block_k}, "a_s");
                auto b_s = shared(c.in, {c.block_k, c.block_n}, "b_s");
                copy(a[tile(bm, c.block_m)][tile(k, c.block_k)], a_s);
                copy(b[tile(k, c.block_k)][tile(bn, c.block_n)], b_s);
                gemm(a_s, b_s, acc, GemmOptions{.precision = c.precision});
              });
              // Epilogue over the accumulator's own (mma) layout: the loop indexes acc by its
              // variables, so it runs on each thread's registers; rows/columns past M/N are
              // skipped.
              parallel({c.block_m, c.block_n}, [&](Var i, Var j) {
                Expr row = bm * c.block_m + i, col = bn * c.block_n + j;
                acc[i][j] = acc[i][j] * c.alpha;
                if_(row < M && col < N, [&] { out[row][col] = cast(c.out, acc[i][j]); });
              });
            });
  return kb.build();
}

} // namespace tessera::examples
