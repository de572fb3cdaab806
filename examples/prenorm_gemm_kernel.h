/** \file
 * The mHC stage-A building block as a DSL program (docs/gemm.md, "Pre-norm GEMM pattern"): for a
 * tile of tokens, y[t, :] = x[t, :] · fnᵀ on TF32 tensor cores and sumsq[t] = Σ x[t, k]², with
 *
 *  * x [T, hidden] bf16 from global copied into an f32 shared tile (exact: bf16 ⊂ TF32),
 *  * fn [n_out, hidden] f32 (n_out = 24) read as a [32, block_k] shared tile whose rows past
 *    n_out read as zero (global regions are clipped), multiplied with trans_b,
 *  * Σx² from the same shared tile via parallel + reduce_sum (accumulated over K tiles),
 *  * outputs written with copy(): the accumulator's columns ≥ n_out and rows ≥ T are skipped.
 *
 * Used by tests/codegen/cuda/gemm_gpu_test.cpp and the CPU compile tests.
 */
#pragma once

#include "dsl/builder.h"

namespace tessera::examples {

struct PrenormGemmConfig {
  int hidden = 4096; ///< K, compile-time
  int n_out = 24;    ///< rows of fn (columns of y)
  int n_pad = 32;    ///< n_out padded to the mma tile (multiple of 8)
  int block_t = 32;  ///< tokens per block (multiple of 16)
  int block_k = 64;  ///< K depth of one tile (multiple of 8)
  int threads = 128;
};

/** Kernel "prenorm_gemm"(x bf16 [T, hidden], fn f32 [n_out, hidden], y f32 [T, n_out], sumsq f32
 *  [T]); T is the dynamic dim "num_tokens". */
inline ir::Kernel prenorm_gemm_kernel(const PrenormGemmConfig& c = {}) {
  using namespace tessera::dsl;
  KernelBuilder kb("prenorm_gemm");
  Dim T = kb.dim("num_tokens");
  auto x = kb.input("x", DType::bf16, {T, c.hidden});
  auto fn = kb.input("fn", DType::f32, {c.n_out, c.hidden});
  auto y = kb.output("y", DType::f32, {T, c.n_out});
  auto sumsq = kb.output("sumsq", DType::f32, {T});
  kb.launch(grid(ceil_div(T, c.block_t)), threads(c.threads), [&](Var bt) {
    auto acc = fragment(DType::f32, {c.block_t, c.n_pad}, "acc");
    auto ss = fragment(DType::f32, {c.block_t}, "ss");
    clear(acc);
    clear(ss);
    serial((c.hidden + c.block_k - 1) / c.block_k, [&](Var kt) {
      auto x_s = shared(DType::f32, {c.block_t, c.block_k}, "x_s");
      auto fn_s = shared(DType::f32, {c.n_pad, c.block_k}, "fn_s");
      copy(x[tile(bt, c.block_t)][tile(kt, c.block_k)], x_s); // bf16 -> f32, zero-filled tails
      copy(fn[tile(0, c.n_pad)][tile(kt, c.block_k)], fn_s);  // rows >= n_out read as 0
      gemm(x_s, fn_s, acc, GemmOptions{.trans_b = true});
      auto sq = fragment(DType::f32, {c.block_t, c.block_k}, "sq");
      parallel({c.block_t, c.block_k}, [&](Var i, Var k) { sq[i][k] = x_s[i][k] * x_s[i][k]; });
      reduce_sum(sq, ss, 1, /*clear=*/false);
    });
    copy(acc, y[tile(bt, c.block_t)][tile(0, c.n_pad)]); // columns >= n_out, rows >= T skipped
    copy(ss, sumsq[tile(bt, c.block_t)]);
  });
  return kb.build();
}

} // namespace tessera::examples
