// Standalone Sinkhorn–Knopp on [T, n, n] (spec §3.9): one token per thread, or 32 / n² tokens
// per warp with a lane per element (SinkhornParams::warp).
#include "base/error.h"
#include "dsl/builder.h"
#include "kernels/mhc/kernels.h"
#include "kernels/mhc/parts.h"

#include <fmt/format.h>

namespace tessera::mhc::kernels {

using namespace tessera::dsl;

std::string describe(const SinkhornParams& p) {
  return fmt::format("n={} R={} eps={:g} threads={}{}", p.n, p.iters, p.eps, p.threads,
                     p.warp ? " warp" : "");
}

ir::Kernel sinkhorn(const SinkhornParams& p) {
  const int n = p.n;
  if (n < 1 || p.iters < 1 || p.threads % 32 != 0 || (p.warp && n * n > 32)) {
    throw InternalError(fmt::format("mhc sinkhorn: bad parameters ({})", describe(p)));
  }
  KernelBuilder kb(p.warp ? "mhc_sinkhorn_warp" : "mhc_sinkhorn");
  Dim T = kb.dim("num_tokens");
  auto logits = kb.input("logits", f32, {T, n, n});
  auto comb = kb.output("comb", f32, {T, n, n});
  if (p.warp) {
    const int nn = n * n;
    const int per_warp = 32 / nn;
    const int per_block = p.threads / 32 * per_warp;
    kb.launch(grid(ceil_div(T, Expr(per_block))), threads(p.threads), [&](Var b) {
      pdl_wait();
      Expr group = lane_idx() / nn;
      Expr e = lane_idx() % nn;
      Expr t = (b * (p.threads / 32) + warp_idx()) * per_warp + group;
      // Every lane takes part in the shuffles: lanes past T (or of the partial group) work on
      // the last token and store nothing.
      Expr tc = min(t, T - 1);
      auto x = local(f32, {}, "x");
      x = logits[tc][e / n][e % n];
      detail::sinkhorn_warp(x, n, p.iters, p.eps);
      if_(t < T && group < per_warp, [&] { comb[t][e / n][e % n] = x; });
      pdl_trigger();
    });
    return kb.build();
  }
  kb.launch(grid(ceil_div(T, Expr(p.threads))), threads(p.threads), [&](Var b) {
    pdl_wait();
    Expr t = b * p.threads + thread_idx();
    if_(t < T, [&] {
      auto c = local(f32, {n, n}, "c");
      for (int j = 0; j < n; ++j) {
        for (int k = 0; k < n; ++k) {
          c[j][k] = logits[t][j][k];
        }
      }
      detail::sinkhorn_local(c, n, p.iters, p.eps);
      for (int j = 0; j < n; ++j) {
        for (int k = 0; k < n; ++k) {
          comb[t][j][k] = c[j][k];
        }
      }
    });
    pdl_trigger();
  });
  return kb.build();
}

} // namespace tessera::mhc::kernels
