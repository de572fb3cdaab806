// Standalone Sinkhorn–Knopp on [T, n, n] (spec §3.9): one token per thread.
#include "base/error.h"
#include "dsl/builder.h"
#include "kernels/mhc/kernels.h"
#include "kernels/mhc/parts.h"

#include <fmt/format.h>

namespace tessera::mhc::kernels {

using namespace tessera::dsl;

std::string describe(const SinkhornParams& p) {
  return fmt::format("n={} R={} eps={:g} threads={}", p.n, p.iters, p.eps, p.threads);
}

ir::Kernel sinkhorn(const SinkhornParams& p) {
  const int n = p.n;
  if (n < 1 || p.iters < 1 || p.threads % 32 != 0) {
    throw InternalError(fmt::format("mhc sinkhorn: bad parameters ({})", describe(p)));
  }
  KernelBuilder kb("mhc_sinkhorn");
  Dim T = kb.dim("num_tokens");
  auto logits = kb.input("logits", f32, {T, n, n});
  auto comb = kb.output("comb", f32, {T, n, n});
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
