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
  return fmt::format("H={} n={} rows={} S={} {} block_m={} stages={} unroll={}", p.hidden, p.n,
                     p.rows, p.splits, p.precision == GemmPrecision::tf32 ? "tf32" : "fp32",
                     p.block_m, p.stages, p.unroll_chunks ? 1 : 0);
}

ir::Kernel post_stage_a(const PostStageAParams& p) {
  constexpr int kThreads = 128;
  constexpr int kVec = 8; // bf16 per 16-byte access
  constexpr int kChunks = kPostStageATileH / kVec;
  const int n = p.n;
  const int H = static_cast<int>(p.hidden);
  const int rows = p.rows;
  const int rows_pad = (rows + 7) / 8 * 8; // mma n8 tiles; padded rows of fn read as zero
  const int bm = p.block_m;
  if (p.hidden < 1 || n < 1 || rows < 1 || p.splits < 1 || bm < 16 || bm > kThreads ||
      kThreads % bm != 0 || p.stages < 1) {
    throw InternalError(fmt::format("mhc post_stage_a: bad parameters ({})", describe(p)));
  }
  // tpt consecutive threads share a token, each taking every tpt-th 8-element chunk of the H
  // tile: one token per thread at bm = 128, so its coefficients and square sum stay in registers
  // for the whole kernel.
  const int tpt = kThreads / bm;
  const int chunks_per_thread = kChunks / tpt;
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
    Expr tid = thread_idx();
    Expr m = tid / tpt;
    Expr row = mb * bm + m;
    Expr lane_in_token = tid % tpt;
    auto sq = local(f32, {}, "sq");
    sq = Expr(0.0f);
    pdl_wait();
    auto c = local(f32, {n, n}, "comb");
    auto pm = local(f32, {n}, "post");
    for (int j = 0; j < n; ++j) {
      pm[j] = select(row < T, Expr(post_mix[min(row, T - 1)][j]), Expr(0.0f));
      for (int k = 0; k < n; ++k) {
        c[j][k] = select(row < T, Expr(comb_mix[min(row, T - 1)][j][k]), Expr(0.0f));
      }
    }
    const ops::GemmPrecision prec =
        p.precision == GemmPrecision::tf32 ? ops::GemmPrecision::tf32 : ops::GemmPrecision::tf32x3;
    // One shared tile per stream (the gemm's operands are 2-D; a stream is a K range). The new
    // residual is written by the threads, not copied in: one buffer, outside the ring.
    std::vector<TileRef> xn_s;
    for (int j = 0; j < n; ++j) {
      xn_s.push_back(shared(bf16, {bm, kPostStageATileH}, fmt::format("xn_s{}", j), RowPad{16}));
    }
    pipelined(split.num_blocks, p.stages, [&](Var i) {
      Expr blk = split.block(i);
      std::vector<TileRef> fn_s;
      for (int j = 0; j < n; ++j) {
        fn_s.push_back(
            shared(f32, {rows_pad, kPostStageATileH}, fmt::format("fn_s{}", j), RowPad{16}));
        copy(fn[range(Expr(0), rows_pad)][j][tile(blk, kPostStageATileH)], fn_s.back());
      }
      // The thread's chunks of the tile: an IR loop (written once), unrolled by the CUDA
      // compiler when p.unroll_chunks (all chunks' loads in flight at once; NVVM time grows).
      auto chunk_loop = [&](auto&& body) {
        if (p.unroll_chunks) {
          unroll(chunks_per_thread, body);
        } else {
          serial(Expr(chunks_per_thread), body);
        }
      };
      chunk_loop([&](Var ci) {
        Expr col = (lane_in_token + ci * tpt) * kVec;
        Expr h = blk * kPostStageATileH + col;
        auto xv = local(bf16, {n, kVec}, "x_v");
        auto yv = local(bf16, {kVec}, "y_v");
        copy(residual[row][all][range(h, kVec)], xv);
        copy(y[row][range(h, kVec)], yv);
        // mhc_post's expression (column k of comb feeds stream k), one bf16 rounding; the
        // square sum and the projection take the rounded value, as if read back.
        auto ov = local(bf16, {n, kVec}, "x_new");
        for (int k = 0; k < n; ++k) {
          for (int e = 0; e < kVec; ++e) {
            Expr a = pm[k] * yv[e];
            for (int j = 0; j < n; ++j) {
              a = a + c[j][k] * xv[j][e];
            }
            ov[k][e] = cast(bf16, a);
            Expr v = cast(f32, Expr(ov[k][e]));
            sq = sq + v * v;
          }
        }
        copy(ov, residual_out[row][all][range(h, kVec)]);
        for (int k = 0; k < n; ++k) {
          copy(ov[k], xn_s[k][m][range(col, kVec)]); // the thread's own elements
        }
      });
      for (int j = 0; j < n; ++j) {
        gemm(xn_s[j], fn_s[j], acc, GemmOptions{.trans_b = true, .precision = prec});
      }
    });
    parallel({bm, rows_pad}, [&](Var mm, Var cc) {
      Expr r = mb * bm + mm;
      if_(r < T && cc < rows, [&] { partial_mix[s][r][cc] = acc[mm][cc]; });
    });
    // The tpt lanes of a token sum their squares by a butterfly: the same order every run.
    auto total = local(f32, {}, "sq_total");
    total = tpt > 1 ? warp_sum(Expr(sq), tpt) : Expr(sq);
    if_(lane_in_token == 0 && row < T, [&] { partial_sqrsum[s][row] = total; });
    pdl_trigger();
  });
  return kb.build();
}

} // namespace tessera::mhc::kernels
