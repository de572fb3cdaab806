// The single-pass small-T kernel of mhc_fused_post_pre (spec §3.7): the new residual, stored
// as bf16, plus the next pre step's projection partials and square sums taken from the
// unrounded fp32 values. Stage B (big_fuse) then runs on the stored residual.
#include "base/error.h"
#include "dsl/builder.h"
#include "kernels/mhc/kernels.h"
#include "kernels/mhc/parts.h"

#include <fmt/format.h>

namespace tessera::mhc::kernels {

using namespace tessera::dsl;

std::string describe(const FusedPostParams& p) {
  return fmt::format("H={} n={} S={} threads={} tile_h={}", p.hidden, p.n, p.splits, p.threads,
                     p.tile_h);
}

ir::Kernel fused_post(const FusedPostParams& p) {
  const int n = p.n;
  const int M = n * (n + 2);
  const int H = static_cast<int>(p.hidden);
  const int hb = p.tile_h;
  if (p.hidden < 1 || n < 1 || p.splits < 1 || hb % 8 != 0) {
    throw InternalError(fmt::format("mhc fused_post: bad parameters ({})", describe(p)));
  }
  KernelBuilder kb("mhc_fused_post");
  Dim T = kb.dim("num_tokens");
  auto y = kb.input("y", bf16, {T, H});
  auto residual = kb.input("residual", bf16, {T, n, H});
  auto post_mix = kb.input("post_mix", f32, {T, n});
  auto comb_mix = kb.input("comb_mix", f32, {T, n, n});
  auto fn = kb.input("fn", f32, {M, n, H}); // [M3, n·H] viewed per stream
  auto residual_out = kb.output("residual_out", bf16, {T, n, H});
  auto partial_mix = kb.output("partial_mix", f32, {p.splits, T, M});
  auto partial_sqrsum = kb.output("partial_sqrsum", f32, {p.splits, T});

  // Block (t, s) owns whole H tiles (split by tiles, so no two blocks store the same element).
  kb.launch(grid(T, p.splits), threads(p.threads), [&](Var t, Var s) {
    const detail::SplitRange split = detail::split_range(s, p.hidden, hb, p.splits);
    auto acc = fragment(f32, {M, hb}, "acc");
    auto sq = fragment(f32, {1, hb}, "sq");
    clear(acc);
    clear(sq);
    pdl_wait();
    auto c = local(f32, {n, n}, "comb");
    auto pm = local(f32, {n}, "post");
    for (int j = 0; j < n; ++j) {
      pm[j] = post_mix[t][j];
      for (int k = 0; k < n; ++k) {
        c[j][k] = comb_mix[t][j][k];
      }
    }
    serial(split.num_blocks, [&](Var i) {
      Expr blk = split.block(i);
      auto x = fragment(f32, {n, hb}, "x");
      copy(residual[t][all][tile(blk, hb)], x);
      auto z = fragment(f32, {hb}, "y_tile");
      copy(y[t][tile(blk, hb)], z);
      auto rn = fragment(f32, {n, hb}, "r_new");
      parallel({n, hb}, [&](Var k, Var h) {
        Expr a = pm[k] * z[h];
        for (int j = 0; j < n; ++j) {
          a = a + c[j][k] * x[j][h];
        }
        rn[k][h] = a;
      });
      copy(rn, residual_out[t][all][tile(blk, hb)]);
      parallel({hb}, [&](Var h) {
        Expr q = sq[0][h];
        for (int j = 0; j < n; ++j) {
          q = q + rn[j][h] * rn[j][h];
        }
        sq[0][h] = q;
      });
      for (int j = 0; j < n; ++j) {
        auto w = fragment(f32, {M, hb}, "w");
        copy(fn[all][j][tile(blk, hb)], w);
        parallel({M, hb}, [&](Var m, Var h) { acc[m][h] = acc[m][h] + w[m][h] * rn[j][h]; });
      }
    });
    auto mix = fragment(f32, {M}, "mix");
    reduce_sum(acc, mix, 1);
    auto ssum = fragment(f32, {1}, "ssum");
    reduce_sum(sq, ssum, 1);
    copy(mix, partial_mix[s][t][all]);
    copy(ssum, partial_sqrsum[s][range(t, 1)]);
    pdl_trigger();
  });
  return kb.build();
}

} // namespace tessera::mhc::kernels
