// Stage A (spec §3.1): split-K projection `x · fnᵀ` and square sum, one block per (token, split).
#include "dsl/builder.h"
#include "kernels/mhc/kernels.h"
#include "kernels/mhc/parts.h"
#include "runtime/error.h"

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

  // TODO(gemm): GemmPrecision::tf32 goes through a 64-token tensor-core tile once gemm lands;
  // until then both precisions use this fp32 FMA kernel (exact fp32 is within the TF32 bound).
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

} // namespace tessera::mhc::kernels
