// mhc_fused_post_pre at larger T (spec §3.7, post then pre): mhc_post and the tensor-core stage
// A in one kernel, so the new residual feeds the projection from shared memory instead of being
// written by one kernel and read back from DRAM by the next.
#include "base/error.h"
#include "dsl/builder.h"
#include "kernels/mhc/kernels.h"
#include "kernels/mhc/parts.h"

#include <fmt/format.h>

namespace tessera::mhc::kernels {

using namespace tessera::dsl;

std::string describe(const PostStageAParams& p) {
  return fmt::format("H={} n={} rows={} S={} {} block_m={} stages={}", p.hidden, p.n, p.rows,
                     p.splits, p.precision == GemmPrecision::tf32 ? "tf32" : "fp32", p.block_m,
                     p.stages);
}

ir::Kernel post_stage_a(const PostStageAParams& p) {
  constexpr int kThreads = 128;
  constexpr int kVec = 8; // bf16 per 16-byte access
  constexpr int kChunks = kPostStageATileH / kVec;
  constexpr int kTokensPerPass = kThreads / kChunks; // tokens the block covers per item
  const int n = p.n;
  const int H = static_cast<int>(p.hidden);
  const int rows = p.rows;
  const int rows_pad = (rows + 7) / 8 * 8; // mma n8 tiles; padded rows of fn read as zero
  const int bm = p.block_m;
  if (p.hidden < 1 || n < 1 || rows < 1 || p.splits < 1 || bm < 16 || bm % 16 != 0 ||
      p.stages < 1) {
    throw InternalError(fmt::format("mhc post_stage_a: bad parameters ({})", describe(p)));
  }
  const int items = bm / kTokensPerPass; // (token, chunk) pairs per thread and H tile
  KernelBuilder kb("mhc_post_stage_a");
  Dim T = kb.dim("num_tokens");
  auto y = kb.input("y", bf16, {T, H});
  auto residual = kb.input("residual", bf16, {T, n, H});
  auto post_mix = kb.input("post_mix", f32, {T, n});
  auto comb_mix = kb.input("comb_mix", f32, {T, n, n});
  auto fn = kb.input("fn", f32, {rows, n, H}); // [rows, n·H] viewed per stream
  auto residual_out = kb.output("residual_out", bf16, {T, n, H});
  auto partial_mix = kb.output("partial_mix", f32, {p.splits, T, rows});
  auto partial_sqrsum = kb.output("partial_sqrsum", f32, {p.splits, T});

  // Block (mb, s): tokens [mb·bm, mb·bm + bm) × the H tiles of split s, all n streams of each
  // tile at once (the post of one element needs every stream), so splits cut H, not K.
  kb.launch(grid(ceil_div(T, Expr(bm)), p.splits), threads(kThreads), [&](Var mb, Var s) {
    const detail::SplitRange split = detail::split_range(s, p.hidden, kPostStageATileH, p.splits);
    auto acc = fragment(f32, {bm, rows_pad}, "acc");
    clear(acc);
    // Thread t owns chunk t % kChunks (8 bf16 of every stream) of tokens t / kChunks + j·16:
    // eight lanes cover one token's 128-byte row segment, so every load and store coalesces.
    Expr tid = thread_idx();
    Expr chunk = tid % kChunks;
    Expr first_token = tid / kChunks;
    auto sq = local(f32, {items}, "sq");
    for (int r = 0; r < items; ++r) {
      sq[r] = Expr(0.0f);
    }
    pdl_wait();
    // The block's post and comb coefficients, read per item from shared memory (a thread serves
    // `items` tokens: keeping them all in registers would cost 20 registers each).
    auto comb_s = shared(f32, {bm, n, n}, "comb_s");
    auto post_s = shared(f32, {bm, n}, "post_s");
    copy(comb_mix[tile(mb, bm)], comb_s);
    copy(post_mix[tile(mb, bm)], post_s);
    const ops::GemmPrecision prec =
        p.precision == GemmPrecision::tf32 ? ops::GemmPrecision::tf32 : ops::GemmPrecision::tf32x3;
    // One shared tile per stream (the gemm's operands are 2-D; a stream is a K range). The new
    // residual is written by the threads, not copied in: one buffer, outside the ring.
    std::vector<TileRef> xn_s;
    for (int j = 0; j < n; ++j) {
      xn_s.push_back(shared(bf16, {bm, kPostStageATileH}, fmt::format("xn_s{}", j), RowPad{16}));
    }
    pipelined(split.num_blocks, p.stages, [&](Var i) {
      Expr blk = split.begin_block + i;
      Expr h = blk * kPostStageATileH + chunk * kVec;
      std::vector<TileRef> fn_s;
      for (int j = 0; j < n; ++j) {
        fn_s.push_back(
            shared(f32, {rows_pad, kPostStageATileH}, fmt::format("fn_s{}", j), RowPad{16}));
        copy(fn[range(Expr(0), rows_pad)][j][tile(blk, kPostStageATileH)], fn_s.back());
      }
      for (int r = 0; r < items; ++r) {
        Expr m = first_token + r * kTokensPerPass;
        Expr row = mb * bm + m;
        auto xv = local(bf16, {n, kVec}, "x_v");
        auto yv = local(bf16, {kVec}, "y_v");
        copy(residual[row][all][range(h, kVec)], xv);
        copy(y[row][range(h, kVec)], yv);
        auto c = local(f32, {n, n}, "comb");
        auto pm = local(f32, {n}, "post");
        for (int j = 0; j < n; ++j) {
          pm[j] = post_s[m][j];
          for (int k = 0; k < n; ++k) {
            c[j][k] = comb_s[m][j][k];
          }
        }
        // The same expression as mhc_post (column k of comb feeds stream k), one bf16 rounding;
        // the square sum and the projection take the rounded value, as if read back.
        auto ov = local(bf16, {n, kVec}, "x_new");
        for (int k = 0; k < n; ++k) {
          for (int e = 0; e < kVec; ++e) {
            Expr a = pm[k] * yv[e];
            for (int j = 0; j < n; ++j) {
              a = a + c[j][k] * xv[j][e];
            }
            ov[k][e] = cast(bf16, a);
            Expr v = cast(f32, Expr(ov[k][e]));
            sq[r] = sq[r] + v * v;
          }
        }
        copy(ov, residual_out[row][all][range(h, kVec)]);
        for (int k = 0; k < n; ++k) {
          copy(ov[k], xn_s[k][m][range(chunk * kVec, kVec)]);
        }
      }
      for (int j = 0; j < n; ++j) {
        gemm(xn_s[j], fn_s[j], acc, GemmOptions{.trans_b = true, .precision = prec});
      }
    });
    parallel({bm, rows_pad}, [&](Var m, Var c) {
      Expr row = mb * bm + m;
      if_(row < T && c < rows, [&] { partial_mix[s][row][c] = acc[m][c]; });
    });
    // The kChunks lanes of a token sum their squares by a butterfly: the same order every run.
    auto total = local(f32, {}, "sq_total");
    for (int r = 0; r < items; ++r) {
      Expr row = mb * bm + first_token + r * kTokensPerPass;
      total = warp_sum(Expr(sq[r]), kChunks);
      if_(chunk == 0 && row < T, [&] { partial_sqrsum[s][row] = total; });
    }
    pdl_trigger();
  });
  return kb.build();
}

} // namespace tessera::mhc::kernels
