// Stage A (spec §3.1): split-K projection `x · fnᵀ` and square sum, one block per (token, split).
#include "base/error.h"
#include "dsl/builder.h"
#include "kernels/mhc/kernels.h"
#include "kernels/mhc/parts.h"

#include <fmt/format.h>

namespace tessera::mhc::kernels {

using namespace tessera::dsl;

std::string describe(const StageAParams& p) {
  return fmt::format("K={} rows={} S={} {} threads={} tile_k={}", p.k, p.rows, p.splits,
                     p.precision == GemmPrecision::tf32 ? "tf32" : "fp32", p.threads, p.tile_k);
}

ir::Kernel stage_a(const StageAParams& p) {
  if (p.k < 1 || p.rows < 1 || p.splits < 1 || p.tile_k % 8 != 0 || p.tile_k < 8) {
    throw InternalError(fmt::format("mhc stage_a: bad parameters ({})", describe(p)));
  }
  const int rows = p.rows;
  const int kt = p.tile_k;
  const int K = static_cast<int>(p.k);
  KernelBuilder kb("mhc_stage_a");
  Dim T = kb.dim("num_tokens");
  auto x = kb.input("x", bf16, {T, K});
  auto fn = kb.input("fn", f32, {rows, K});
  auto partial_mix = kb.output("partial_mix", f32, {p.splits, T, rows});
  auto partial_sqrsum = kb.output("partial_sqrsum", f32, {p.splits, T});

  // One token per block, FMAs in fp32 for both precisions (exact fp32 is within the TF32 bound);
  // stage_a_mma below is the tensor-core kernel for many tokens.
  kb.launch(grid(T, p.splits), threads(p.threads), [&](Var t, Var s) {
    const detail::SplitRange split = detail::split_range(s, p.k, kSplitBlockK, p.splits);
    auto acc = fragment(f32, {rows, kt}, "acc");
    auto sq = fragment(f32, {1, kt}, "sq");
    clear(acc);
    clear(sq);
    pdl_wait();
    serial(ceil_div(split.end - split.begin, Expr(kt)), [&](Var i) {
      Expr k0 = split.begin + i * kt;
      auto xf = fragment(f32, {kt}, "xf");
      copy(x[t][range(k0, kt)], xf);
      auto wf = fragment(f32, {rows, kt}, "wf");
      copy(fn[all][range(k0, kt)], wf);
      parallel({kt}, [&](Var k) {
        // Elements past the split's end belong to the next split: count them as zero.
        Expr v = select(k0 + k < split.end, Expr(xf[k]), Expr(0.0f));
        sq[0][k] = sq[0][k] + v * v;
        for (int c = 0; c < rows; ++c) {
          acc[c][k] = acc[c][k] + v * wf[c][k];
        }
      });
    });
    auto mix = fragment(f32, {rows}, "mix");
    reduce_sum(acc, mix, 1);
    auto ssum = fragment(f32, {1}, "ssum");
    reduce_sum(sq, ssum, 1);
    copy(mix, partial_mix[s][t][all]);
    copy(ssum, partial_sqrsum[s][range(t, 1)]);
    pdl_trigger();
  });
  return kb.build();
}

std::string describe(const StageAMmaParams& p) {
  return fmt::format("K={} rows={} S={} {} block_m={} stages={}", p.k, p.rows, p.splits,
                     p.precision == GemmPrecision::tf32 ? "tf32" : "fp32", p.block_m, p.stages);
}

ir::Kernel stage_a_mma(const StageAMmaParams& p) {
  if (p.k < 1 || p.rows < 1 || p.splits < 1 || p.block_m % 16 != 0 || p.block_m < 16 ||
      p.stages < 1) {
    throw InternalError(fmt::format("mhc stage_a_mma: bad parameters ({})", describe(p)));
  }
  const int rows = p.rows;
  const int rows_pad = (rows + 7) / 8 * 8; // mma n8 tiles; padded rows of fn read as zero
  const int bm = p.block_m;
  const int kt = kSplitBlockK; // split ranges are whole 64-blocks: tiles never straddle splits
  const int K = static_cast<int>(p.k);
  constexpr int kThreads = 128;
  constexpr int kWarps = kThreads / 32;
  // Σx² is summed from the shared x tile: warp w reads rows w, w + 4, ... one whole row per load
  // instruction (lane l: columns 2l, 2l + 1), so its 32 lanes hit 32 distinct banks whatever the
  // row pitch; a warp sum per row finishes it.
  static_assert(kSplitBlockK == 64, "a warp covers a 64-wide row with two elements per lane");
  const int sq_rows = (bm + kWarps - 1) / kWarps;
  KernelBuilder kb("mhc_stage_a_mma");
  Dim T = kb.dim("num_tokens");
  auto x = kb.input("x", bf16, {T, K});
  auto fn = kb.input("fn", f32, {rows, K});
  auto partial_mix = kb.output("partial_mix", f32, {p.splits, T, rows});
  auto partial_sqrsum = kb.output("partial_sqrsum", f32, {p.splits, T});

  kb.launch(grid(ceil_div(T, Expr(bm)), p.splits), threads(kThreads), [&](Var mb, Var s) {
    const detail::SplitRange split = detail::split_range(s, p.k, kSplitBlockK, p.splits);
    // Each block reads fn once per K tile for bm tokens (the per-token kernel reads it per token).
    auto acc = fragment(f32, {bm, rows_pad}, "acc");
    auto sq = local(f32, {sq_rows}, "sq");
    clear(acc);
    for (int j = 0; j < sq_rows; ++j) {
      sq[j] = Expr(0.0f);
    }
    Expr warp = warp_idx();
    Expr lane = lane_idx();
    pdl_wait();
    // fp32 runs on the tensor cores too, with fn split into two TF32 parts (x is exact).
    const ops::GemmPrecision prec =
        p.precision == GemmPrecision::tf32 ? ops::GemmPrecision::tf32 : ops::GemmPrecision::tf32x3;
    pipelined(split.num_blocks, p.stages, [&](Var i) {
      Expr blk = split.block(i);
      // x stays bf16 in shared memory (cp.async, no conversion pass); the gemm widens it to TF32
      // exactly. Rows padded by 16 elements keep the gemm's vector loads on distinct banks.
      auto xs = shared(bf16, {bm, kt}, "x_s", RowPad{16});
      auto ws = shared(f32, {rows_pad, kt}, "fn_s", RowPad{16});
      copy(x[tile(mb, bm)][tile(blk, kt)], xs);
      copy(fn[range(Expr(0), rows_pad)][tile(blk, kt)], ws);
      gemm(xs, ws, acc, GemmOptions{.trans_b = true, .precision = prec});
      for (int j = 0; j < sq_rows; ++j) {
        for (int e = 0; e < 2; ++e) {
          Expr v = xs[warp + j * kWarps][lane * 2 + e];
          sq[j] = sq[j] + v * v; // bf16 squares are exact in f32
        }
      }
    });
    // Epilogues: a loop that reads an accumulator by its own indices runs on its (mma) layout.
    parallel({bm, rows_pad}, [&](Var m, Var c) {
      Expr row = mb * bm + m;
      if_(row < T && c < rows, [&] { partial_mix[s][row][c] = acc[m][c]; });
    });
    // A butterfly over the warp (every lane takes part, outside the branch): the same order on
    // every run.
    auto total = local(f32, {}, "sq_total");
    for (int j = 0; j < sq_rows; ++j) {
      Expr row = mb * bm + warp + j * kWarps;
      total = warp_sum(Expr(sq[j]));
      if_(lane == 0 && row < T, [&] { partial_sqrsum[s][row] = total; });
    }
    pdl_trigger();
  });
  return kb.build();
}

} // namespace tessera::mhc::kernels
