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
