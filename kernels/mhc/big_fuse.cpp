// Stage B, the "big fuse" (spec §3.2–3.4): split reduction, RMS scale, pre/post sigmoids,
// Sinkhorn and the collapse to the layer input, optionally with the fused RMSNorm and the
// first-layer broadcast.
#include "base/error.h"
#include "dsl/builder.h"
#include "kernels/mhc/kernels.h"
#include "kernels/mhc/parts.h"

#include <fmt/format.h>
#include <optional>

namespace tessera::mhc::kernels {

using namespace tessera::dsl;

const char* variant_name(BigFuseVariant v) {
  switch (v) {
  case BigFuseVariant::plain:
    return "plain";
  case BigFuseVariant::norm:
    return "norm";
  case BigFuseVariant::broadcast:
    return "broadcast";
  }
  return "?";
}

BigFuseParams big_fuse_params(const Config& c, int splits, BigFuseVariant v) {
  BigFuseParams p;
  p.hidden = c.hidden;
  p.n = c.hc_mult;
  p.splits = splits;
  p.iters = c.sinkhorn_iters;
  p.rms_eps = c.rms_eps;
  p.pre_eps = c.hc_pre_eps;
  p.sinkhorn_eps = c.hc_sinkhorn_eps;
  p.post_mult = c.post_mult;
  p.norm_eps = c.norm_eps.value_or(0.0f);
  p.variant = v;
  p.tile_h = v == BigFuseVariant::plain ? 512 : 1024;
  return p;
}

std::string describe(const BigFuseParams& p) {
  return fmt::format("{} H={} n={} S={} R={} rms_eps={:g} pre_eps={:g} sk_eps={:g} post_mult={:g} "
                     "norm_eps={:g} tile_h={}",
                     variant_name(p.variant), p.hidden, p.n, p.splits, p.iters, p.rms_eps,
                     p.pre_eps, p.sinkhorn_eps, p.post_mult, p.norm_eps, p.tile_h);
}

namespace {

/** Warp 0's part: post and the Sinkhorn of comb (tiny; the other warps collapse meanwhile).
 * With n² ≤ 32 the whole warp runs the Sinkhorn (detail::sinkhorn_warp: a latency chain of
 * shuffles instead of one thread's serial pass, the same bits); otherwise lane 0 alone.
 * `red` holds the unscaled mixes and square sum. */
void post_and_comb(const BigFuseParams& p, const TileRef& red, Expr r, const TileRef& scale,
                   const TileRef& base, const TileRef& post_mix, const TileRef& comb_mix, Expr t) {
  const int n = p.n;
  Expr lane = lane_idx();
  if (n * n <= 32) {
    if_(lane < n, [&] {
      post_mix[t][lane] = sigmoid(red[n + lane] * r * scale[1] + base[n + lane]) * p.post_mult;
    });
    Expr e = lane % (n * n);
    auto x = local(f32, {}, "comb");
    x = red[2 * n + e] * r * scale[2] + base[2 * n + e];
    detail::sinkhorn_warp(x, n, p.iters, p.sinkhorn_eps);
    if_(lane < n * n, [&] { comb_mix[t][e / n][e % n] = x; });
    return;
  }
  if_(lane == 0, [&] {
    for (int j = 0; j < n; ++j) {
      post_mix[t][j] = sigmoid(red[n + j] * r * scale[1] + base[n + j]) * p.post_mult;
    }
    auto c = local(f32, {n, n}, "comb");
    for (int j = 0; j < n; ++j) {
      for (int k = 0; k < n; ++k) {
        const int idx = 2 * n + j * n + k;
        c[j][k] = red[idx] * r * scale[2] + base[idx];
      }
    }
    detail::sinkhorn_local(c, n, p.iters, p.sinkhorn_eps);
    for (int j = 0; j < n; ++j) {
      for (int k = 0; k < n; ++k) {
        comb_mix[t][j][k] = c[j][k];
      }
    }
  });
}

/** pre[j] = sigmoid(m[j]·scale[0] + base[j]) + pre_eps into a per-thread local. */
TileRef make_pre(const BigFuseParams& p, const TileRef& red, Expr r, const TileRef& scale,
                 const TileRef& base) {
  auto pre = local(f32, {p.n}, "pre");
  for (int j = 0; j < p.n; ++j) {
    pre[j] = sigmoid(red[j] * r * scale[0] + base[j]) + p.pre_eps;
  }
  return pre;
}

} // namespace

ir::Kernel big_fuse(const BigFuseParams& p) {
  const int n = p.n;
  const int M = n * (n + 2);
  const int H = static_cast<int>(p.hidden);
  const int hb = p.tile_h;
  const bool broadcast = p.variant == BigFuseVariant::broadcast;
  const bool plain = p.variant == BigFuseVariant::plain;
  // Collapse threads: one 16-byte bf16 vector each (plain); 128 for the one-block-per-token
  // norm variants.
  const int collapse_threads = plain ? hb / 8 : 128;
  const int block_threads = 32 + collapse_threads;
  if (p.hidden < 1 || n < 1 || p.splits < 1 || hb % 8 != 0 || block_threads < M + 1 ||
      block_threads > 1024) {
    throw InternalError(fmt::format("mhc big_fuse: bad parameters ({})", describe(p)));
  }
  // The RMS scale divides by the length stage A reduced over: n·H, or H for the broadcast
  // variant (whose stage A runs on the embedding).
  const float rms_k = static_cast<float>(broadcast ? p.hidden : p.hidden * n);
  const int tiles = static_cast<int>((p.hidden + hb - 1) / hb);

  KernelBuilder kb(std::string("mhc_big_fuse_") + variant_name(p.variant));
  Dim T = kb.dim("num_tokens");
  auto partial_mix = kb.input("partial_mix", f32, {p.splits, T, M});
  auto partial_sqrsum = kb.input("partial_sqrsum", f32, {p.splits, T});
  auto scale = kb.input("scale", f32, {3});
  auto base = kb.input("base", f32, {M});
  TileRef residual =
      broadcast ? kb.input("embedding", bf16, {T, H}) : kb.input("residual", bf16, {T, n, H});
  // (TileRef assignment is a DSL store, so optional handles are built in place.)
  std::optional<TileRef> norm_weight;
  if (!plain) {
    norm_weight.emplace(kb.input("norm_weight", bf16, {H}));
  }
  std::optional<TileRef> residual_out;
  if (broadcast) {
    residual_out.emplace(kb.output("residual_out", bf16, {T, n, H}));
  }
  auto post_mix = kb.output("post_mix", f32, {T, n});
  auto comb_mix = kb.output("comb_mix", f32, {T, n, n});
  auto layer_input = kb.output("layer_input", bf16, {T, H});

  auto body = [&](Var t, Var hblk) {
    pdl_wait();
    auto red = shared(f32, {M + 1}, "mixes");
    detail::reduce_partials(partial_mix, partial_sqrsum, t, p.splits, M, red);
    Expr r = rsqrt(red[M] / rms_k + p.rms_eps);

    thread_range(0, 32, [&] {
      if (plain) { // one block of the token's row writes post and comb
        if_(hblk == 0, [&] { post_and_comb(p, red, r, scale, base, post_mix, comb_mix, t); });
      } else {
        post_and_comb(p, red, r, scale, base, post_mix, comb_mix, t);
      }
    });

    thread_range(32, block_threads, [&] {
      TileRef pre = make_pre(p, red, r, scale, base);
      if (plain) {
        detail::collapse_tile(residual, layer_input, t, hblk, hb, n, pre);
        return;
      }
      // Pass 1: collapse every tile, keep bf16(acc) in registers, accumulate Σ acc² from the
      // unrounded fp32 values (§3.3).
      auto stash = fragment(bf16, {tiles, hb}, "stash");
      auto q = fragment(f32, {1, hb}, "sq");
      clear(q);
      unroll(tiles, [&](Var i) {
        if (broadcast) {
          auto e = fragment(f32, {hb}, "e");
          copy(residual[t][tile(i, hb)], e);
          for (int j = 0; j < n; ++j) {
            copy(e, (*residual_out)[t][j][tile(i, hb)]); // exact: e holds bf16 values
          }
          parallel({hb}, [&](Var h) {
            Expr acc = pre[0] * e[h];
            for (int j = 1; j < n; ++j) {
              acc = acc + pre[j] * e[h];
            }
            q[0][h] = q[0][h] + acc * acc;
            stash[i][h] = acc;
          });
        } else {
          auto x = fragment(f32, {n, hb}, "x");
          copy(residual[t][all][tile(i, hb)], x);
          parallel({hb}, [&](Var h) {
            Expr acc = pre[0] * x[0][h];
            for (int j = 1; j < n; ++j) {
              acc = acc + pre[j] * x[j][h];
            }
            q[0][h] = q[0][h] + acc * acc;
            stash[i][h] = acc;
          });
        }
      });
      auto qsum = fragment(f32, {1}, "sq_total");
      reduce_sum(q, qsum, 1);
      // Pass 2: out = bf16(float(stash) · ρ · w).
      unroll(tiles, [&](Var i) {
        auto w = fragment(f32, {hb}, "w");
        copy((*norm_weight)[tile(i, hb)], w);
        auto o = fragment(f32, {hb}, "o");
        parallel({hb}, [&](Var h) {
          Expr rho = rsqrt(qsum[0] / static_cast<float>(H) + p.norm_eps);
          o[h] = cast(f32, stash[i][h]) * rho * w[h];
        });
        copy(o, layer_input[t][tile(i, hb)]);
      });
    });
    pdl_trigger();
  };

  if (plain) {
    kb.launch(grid(T, tiles), threads(block_threads), body);
  } else {
    kb.launch(grid(T), threads(block_threads), [&](Var t) { body(t, Expr(0)); });
  }
  return kb.build();
}

} // namespace tessera::mhc::kernels
