// mhc_post (spec §3.6): X'[k] = post[k]·y + Σ_j comb[j,k]·X[j], one bf16 rounding.
#include "base/error.h"
#include "dsl/builder.h"
#include "kernels/mhc/kernels.h"

#include <fmt/format.h>

namespace tessera::mhc::kernels {

using namespace tessera::dsl;

namespace {
int post_threads(const PostParams& p) {
  return p.threads > 0 ? p.threads : p.tile_h / 8;
}
} // namespace

std::string describe(const PostParams& p) {
  return fmt::format("H={} n={} tile_h={} threads={}", p.hidden, p.n, p.tile_h, post_threads(p));
}

ir::Kernel post(const PostParams& p) {
  const int n = p.n;
  const int H = static_cast<int>(p.hidden);
  const int hb = p.tile_h;
  const int block_threads = post_threads(p);
  // Each thread moves whole 16-byte vectors (8 bf16) of every stream, tile_h / (8 threads) each.
  if (p.hidden < 1 || n < 1 || hb % 8 != 0 || block_threads % 32 != 0 || block_threads > 1024 ||
      (hb / 8) % block_threads != 0) {
    throw InternalError(fmt::format("mhc post: bad parameters ({})", describe(p)));
  }
  const int tiles = static_cast<int>((p.hidden + hb - 1) / hb);
  KernelBuilder kb("mhc_post");
  Dim T = kb.dim("num_tokens");
  auto comb_mix = kb.input("comb_mix", f32, {T, n, n});
  auto residual = kb.input("residual", bf16, {T, n, H});
  auto post_mix = kb.input("post_mix", f32, {T, n});
  auto y = kb.input("y", bf16, {T, H});
  auto out = kb.output("out", bf16, {T, n, H});

  // One H tile of all n streams per block; a 2-D grid keeps enough blocks in flight for small T.
  kb.launch(grid(T, tiles), threads(block_threads), [&](Var t, Var hblk) {
    pdl_wait();
    auto c = local(f32, {n, n}, "comb");
    auto pm = local(f32, {n}, "post");
    for (int j = 0; j < n; ++j) {
      pm[j] = post_mix[t][j];
      for (int k = 0; k < n; ++k) {
        c[j][k] = comb_mix[t][j][k];
      }
    }
    auto x = fragment(bf16, {n, hb}, "x");
    copy(residual[t][all][tile(hblk, hb)], x);
    auto z = fragment(bf16, {hb}, "y_tile");
    copy(y[t][tile(hblk, hb)], z);
    auto o = fragment(f32, {n, hb}, "o");
    parallel({n, hb}, [&](Var k, Var h) {
      // Column k of comb feeds stream k (the transpose of §3.6).
      Expr acc = pm[k] * z[h];
      for (int j = 0; j < n; ++j) {
        acc = acc + c[j][k] * x[j][h];
      }
      o[k][h] = acc;
    });
    copy(o, out[t][all][tile(hblk, hb)]);
    pdl_trigger();
  });
  return kb.build();
}

} // namespace tessera::mhc::kernels
