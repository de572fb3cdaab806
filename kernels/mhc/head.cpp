// hc_head (spec §3.8), second kernel: after stage_a(rows = n) it sums the split partials,
// computes pre = sigmoid(m·r·scale + base) + hc_eps and collapses one H tile per block.
#include "base/error.h"
#include "dsl/builder.h"
#include "kernels/mhc/kernels.h"
#include "kernels/mhc/parts.h"

#include <fmt/format.h>

namespace tessera::mhc::kernels {

using namespace tessera::dsl;

std::string describe(const HeadCollapseParams& p) {
  return fmt::format("H={} n={} S={} rms_eps={:g} hc_eps={:g} tile_h={}", p.hidden, p.n, p.splits,
                     p.rms_eps, p.hc_eps, p.tile_h);
}

ir::Kernel head_collapse(const HeadCollapseParams& p) {
  const int n = p.n;
  const int H = static_cast<int>(p.hidden);
  const int hb = p.tile_h;
  const int block_threads = hb / 8;
  if (p.hidden < 1 || n < 1 || p.splits < 1 || hb % 8 != 0 || block_threads < 32 ||
      block_threads < n + 1) {
    throw InternalError(fmt::format("mhc head_collapse: bad parameters ({})", describe(p)));
  }
  const int tiles = static_cast<int>((p.hidden + hb - 1) / hb);
  const float k = static_cast<float>(p.hidden * n);
  KernelBuilder kb("mhc_head_collapse");
  Dim T = kb.dim("num_tokens");
  auto partial_mix = kb.input("partial_mix", f32, {p.splits, T, n});
  auto partial_sqrsum = kb.input("partial_sqrsum", f32, {p.splits, T});
  auto scale = kb.input("scale", f32, {1});
  auto base = kb.input("base", f32, {n});
  auto residual = kb.input("residual", bf16, {T, n, H});
  auto out = kb.output("out", bf16, {T, H});

  kb.launch(grid(T, tiles), threads(block_threads), [&](Var t, Var hblk) {
    pdl_wait();
    auto red = shared(f32, {n + 1}, "mixes");
    detail::reduce_partials(partial_mix, partial_sqrsum, t, p.splits, n, red);
    Expr r = rsqrt(red[n] / k + p.rms_eps);
    auto pre = local(f32, {n}, "pre");
    for (int j = 0; j < n; ++j) {
      pre[j] = sigmoid(red[j] * r * scale[0] + base[j]) + p.hc_eps;
    }
    detail::collapse_tile(residual, out, t, hblk, hb, n, pre);
    pdl_trigger();
  });
  return kb.build();
}

} // namespace tessera::mhc::kernels

namespace tessera::mhc::kernels {

std::string describe(const HeadFusedParams& p) {
  return fmt::format("H={} n={} cluster={} block_m={} threads={} max_clusters={} stages={} "
                     "rms_eps={:g} hc_eps={:g}",
                     p.hidden, p.n, p.cluster, p.block_m, p.threads, p.max_clusters, p.stages,
                     p.rms_eps, p.hc_eps);
}

ir::Kernel head_fused(const HeadFusedParams& p) {
  const int n = p.n;
  const int S = p.cluster;
  const int bm = p.block_m;
  const int nt = p.threads;
  const int hs = static_cast<int>(p.slice());
  if (p.hidden < 1 || n < 1 || S < 2 || bm < 1 || nt < 32 || nt % 32 != 0 || p.max_clusters < 1 ||
      p.stages < 1) {
    throw InternalError(fmt::format("mhc head_fused: bad parameters ({})", describe(p)));
  }
  const int H = static_cast<int>(p.hidden);
  const int chunks = (hs + nt - 1) / nt;
  const float k = static_cast<float>(p.hidden * n);
  KernelBuilder kb("mhc_head_fused");
  Dim T = kb.dim("num_tokens");
  auto fn = kb.input("fn", f32, {n, n, H}); // [mix row][stream][h]
  auto scale = kb.input("scale", f32, {1});
  auto base = kb.input("base", f32, {n});
  auto residual = kb.input("residual", bf16, {T, n, H});
  auto out = kb.output("out", bf16, {T, H});
  auto partial_mix = kb.output("partial_mix", f32, {S, T, n});
  auto partial_sqrsum = kb.output("partial_sqrsum", f32, {S, T});
  kb.cluster({1, S});
  Expr tiles = ceil_div(T, Expr(bm));
  kb.launch(grid(min(tiles, Expr(p.max_clusters)), S), threads(nt), [&](Var pc, Var s) {
    Expr h0 = s * hs;
    pdl_wait(); // check_pdl: no global access before it, weights included
    auto fn_s = shared(f32, {n, n, hs}, "fn_s");
    copy(fn[all][all][range(h0, hs)], fn_s);
    pipelined(ceil_div(tiles - pc, Expr(p.max_clusters)), p.stages, [&](Var i) {
      Expr tl = pc + i * p.max_clusters;
      // The residual tile's slice stays in shared memory from the projection to the collapse:
      // the row is read from DRAM once.
      auto x_s = shared(bf16, {bm, n, hs}, "x_s");
      copy(residual[tile(tl, bm)][all][range(h0, hs)], x_s);
      // Thread c takes columns c, c + nt, ... of the slice for every token, stream and row
      // (x_s and fn_s reads are consecutive across a warp), then the block sums each of the
      // bm·(n+1) values: a warp butterfly, then the warps in order (deterministic).
      const int vals = bm * (n + 1);
      auto acc = local(f32, {vals}, "acc");
      for (int v = 0; v < vals; ++v) {
        acc[v] = Expr(0.0f);
      }
      Expr tid = thread_idx();
      serial(chunks, [&](Var j) {
        Expr h = j * nt + tid;
        Expr hc = min(h, Expr(hs - 1));
        Expr live = h < hs;
        for (int q = 0; q < n; ++q) {
          auto w = local(f32, {n}, "w");
          for (int m = 0; m < n; ++m) {
            w[m] = fn_s[m][q][hc];
          }
          for (int t = 0; t < bm; ++t) {
            auto v = local(f32, {}, "v");
            v = select(live, Expr(x_s[t][q][hc]), Expr(0.0f));
            acc[t * (n + 1) + n] = acc[t * (n + 1) + n] + v * v;
            for (int m = 0; m < n; ++m) {
              acc[t * (n + 1) + m] = acc[t * (n + 1) + m] + v * w[m];
            }
          }
        }
      });
      const int warps = nt / 32;
      auto warp_part = shared(f32, {warps, vals}, "warp_part");
      auto total = local(f32, {vals}, "total");
      for (int v = 0; v < vals; ++v) {
        total[v] = warp_sum(Expr(acc[v]));
      }
      // One guarded statement for all the stores: the barrier pass cannot tell that lane 0 of
      // each warp writes its own row, and would fence every store from the previous one.
      if_(lane_idx() == 0, [&] {
        for (int v = 0; v < vals; ++v) {
          warp_part[warp_idx()][v] = total[v];
        }
      });
      barrier();
      if_(tid < vals, [&] {
        Expr sum = warp_part[0][tid];
        for (int w = 1; w < warps; ++w) {
          sum = sum + warp_part[w][tid];
        }
        Expr t = tid / (n + 1);
        Expr m = tid % (n + 1);
        Expr tok = tl * bm + t;
        if_(tok < T && m < n, [&] { partial_mix[s][tok][min(m, Expr(n - 1))] = sum; });
        if_(tok < T && m == n, [&] { partial_sqrsum[s][tok] = sum; });
      });
      // Every block of the cluster has its partials out; each sums all of them (the same order
      // in every block, so the slices agree on pre).
      cluster_barrier();
      auto pre_s = shared(f32, {bm, n}, "pre_s");
      parallel({bm, n}, [&](Var t, Var m) {
        Expr tok = min(tl * bm + t, T - 1); // rows past T compute what no one stores
        Expr mix = partial_mix[0][tok][m];
        Expr sq = partial_sqrsum[0][tok];
        for (int r = 1; r < S; ++r) {
          mix = mix + partial_mix[r][tok][m];
          sq = sq + partial_sqrsum[r][tok];
        }
        Expr rr = rsqrt(sq / k + p.rms_eps);
        pre_s[t][m] = sigmoid(mix * rr * scale[0] + base[m]) + p.hc_eps;
      });
      auto u = fragment(f32, {bm, hs}, "u");
      parallel({bm, hs}, [&](Var t, Var h) {
        Expr a = pre_s[t][0] * x_s[t][0][h];
        for (int q = 1; q < n; ++q) {
          a = a + pre_s[t][q] * x_s[t][q][h];
        }
        u[t][h] = a;
      });
      copy(u, out[tile(tl, bm)][range(h0, hs)]);
    });
    pdl_trigger();
  });
  return kb.build();
}

} // namespace tessera::mhc::kernels
