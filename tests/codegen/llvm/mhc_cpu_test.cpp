// The mHC kernels (kernels/mhc, DSL programs) run on the CPU backend against the C++ references
// (kernels/mhc/reference.h), with the spec's input recipe and tolerances (docs/mhc-spec.md §7),
// a tail hidden size and T = 1 included.
#include "base/float16.h"
#include "jit/compiled_kernel.h"
#include "kernels/mhc/config.h"
#include "kernels/mhc/inputs.h"
#include "kernels/mhc/kernels.h"
#include "kernels/mhc/reference.h"
#include "kernels/mhc/validate.h"
#include "runtime/tensor.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

using namespace tessera;
namespace mk = tessera::mhc::kernels;

namespace {

/** The kernel compiled for the CPU backend through the public facade. */
tessera::CompiledKernel compile_cpu(const tessera::ir::Kernel& k) {
  return tessera::Runtime::compile(k, tessera::Target::cpu);
}

TensorView host(const void* p, DType t, std::initializer_list<std::int64_t> shape) {
  return TensorView(const_cast<void*>(p), t, shape, MemoryKind::host);
}

template <class A, class B>
void check_close(const char* what, const std::vector<A>& got, const std::vector<B>& want,
                 double atol, double rtol) {
  REQUIRE(got.size() == want.size());
  std::size_t bad = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = static_cast<float>(got[i]);
    const double w = static_cast<float>(want[i]);
    if (!(std::abs(g - w) <= atol + rtol * std::abs(w)) && bad++ == 0) {
      FAIL_CHECK(what << "[" << i << "]: got " << g << " want " << w);
    }
  }
  CHECK(bad == 0);
}

mhc::Config config(std::int64_t hidden) {
  mhc::Config c;
  c.hidden = hidden;
  c.gemm_precision = mhc::GemmPrecision::fp32;
  return c;
}

} // namespace

TEST_CASE("mhc_post on the CPU matches the reference", "[cpu][mhc]") {
  // threads 64: one 16-byte vector per stream per thread; 32: two (the tile's second half).
  for (int threads : {0, 32}) {
    for (std::int64_t H : {1000, 4096}) {
      for (std::int64_t T : {1, 5}) {
        const mhc::Config c = config(H);
        const int n = c.n();
        const auto in = mhc::inputs::make_post_inputs(c, T, 42);
        tessera::CompiledKernel k =
            compile_cpu(mk::post({.hidden = H, .n = n, .tile_h = 512, .threads = threads}));
        std::vector<bf16> out(static_cast<std::size_t>(T * n * H), bf16::from_bits(0x7fc1));
        k.launch(nullptr, host(in.comb_mix.data(), DType::f32, {T, n, n}),
                 host(in.residual.data(), DType::bf16, {T, n, H}),
                 host(in.post_mix.data(), DType::f32, {T, n}),
                 host(in.y.data(), DType::bf16, {T, H}), host(out.data(), DType::bf16, {T, n, H}));
        INFO("H = " << H << " T = " << T << " threads = " << threads);
        const auto want = mhc::ref::mhc_post(c, T, in.y, in.residual, in.post_mix, in.comb_mix);
        check_close("out", out, want, 1.6e-2, 1e-2);
      }
    }
  }
}

TEST_CASE("mhc sinkhorn on the CPU matches the reference", "[cpu][mhc]") {
  const mhc::Config c = config(4096);
  for (std::int64_t T : {1, 130}) {
    const auto logits = mhc::inputs::make_sinkhorn_logits(c, T, 7);
    tessera::CompiledKernel k = compile_cpu(
        mk::sinkhorn({.n = c.n(), .iters = c.sinkhorn_iters, .eps = c.hc_sinkhorn_eps}));
    std::vector<float> out(static_cast<std::size_t>(T * c.n() * c.n()),
                           std::numeric_limits<float>::quiet_NaN());
    k.launch(nullptr, host(logits.data(), DType::f32, {T, c.n(), c.n()}),
             host(out.data(), DType::f32, {T, c.n(), c.n()}));
    const auto want = mhc::ref::sinkhorn(logits, T, c.n(), c.sinkhorn_iters, c.hc_sinkhorn_eps);
    check_close("comb", out, want, 1e-5, 1e-4);
  }
}

TEST_CASE("mhc sinkhorn: the warp form equals the thread form bit for bit", "[cpu][mhc]") {
  // n = 3 and 5 leave a partial lane group (32 mod n²), n = 2 packs 8 matrices per warp.
  for (int n : {2, 3, 4, 5}) {
    mhc::Config c = config(4096);
    c.hc_mult = n;
    for (std::int64_t T : {1, 2, 3, 17, 130}) {
      INFO("n = " << n << " T = " << T);
      const auto logits = mhc::inputs::make_sinkhorn_logits(c, T, 11);
      std::vector<std::vector<float>> outs;
      for (bool warp : {false, true}) {
        tessera::CompiledKernel k = compile_cpu(mk::sinkhorn(
            {.n = n, .iters = c.sinkhorn_iters, .eps = c.hc_sinkhorn_eps, .warp = warp}));
        std::vector<float> out(static_cast<std::size_t>(T * n * n),
                               std::numeric_limits<float>::quiet_NaN());
        k.launch(nullptr, host(logits.data(), DType::f32, {T, n, n}),
                 host(out.data(), DType::f32, {T, n, n}));
        outs.push_back(std::move(out));
      }
      const auto want = mhc::ref::sinkhorn(logits, T, n, c.sinkhorn_iters, c.hc_sinkhorn_eps);
      check_close("comb (warp)", outs[1], want, 1e-5, 1e-4);
      std::size_t differ = 0;
      for (std::size_t i = 0; i < outs[0].size(); ++i) {
        differ += outs[0][i] == outs[1][i] ? 0 : 1; // NaN (unwritten) differs too
      }
      CHECK(differ == 0);
    }
  }
}

TEST_CASE("mhc_pre (stage A + big fuse) on the CPU matches the reference", "[cpu][mhc]") {
  for (std::int64_t H : {1000, 4096}) {
    for (std::int64_t T : {1, 5}) {
      for (int S : {1, 3}) {
        const mhc::Config c = config(H);
        const int n = c.n(), M3 = c.mix_count();
        const auto in = mhc::inputs::make_pre_inputs(c, T, 3);
        mk::StageAParams sa;
        sa.k = c.k();
        sa.rows = M3;
        sa.splits = S;
        sa.precision = c.gemm_precision;
        tessera::CompiledKernel ka = compile_cpu(mk::stage_a(sa));
        tessera::CompiledKernel kb =
            compile_cpu(mk::big_fuse(mk::big_fuse_params(c, S, mk::BigFuseVariant::plain)));
        const float nan = std::numeric_limits<float>::quiet_NaN();
        std::vector<float> mix(static_cast<std::size_t>(S * T * M3), nan), sq(S * T, nan);
        std::vector<float> post(T * n, nan), comb(T * n * n, nan);
        std::vector<bf16> layer(T * H, bf16::from_bits(0x7fc1));
        ka.launch(nullptr, host(in.residual.data(), DType::bf16, {T, c.k()}),
                  host(in.fn.data(), DType::f32, {M3, c.k()}),
                  host(mix.data(), DType::f32, {S, T, M3}), host(sq.data(), DType::f32, {S, T}));
        kb.launch(
            nullptr, host(mix.data(), DType::f32, {S, T, M3}), host(sq.data(), DType::f32, {S, T}),
            host(in.scale.data(), DType::f32, {3}), host(in.base.data(), DType::f32, {M3}),
            host(in.residual.data(), DType::bf16, {T, n, H}), host(post.data(), DType::f32, {T, n}),
            host(comb.data(), DType::f32, {T, n, n}), host(layer.data(), DType::bf16, {T, H}));
        INFO("H = " << H << " T = " << T << " S = " << S);
        const auto want = mhc::ref::mhc_pre(c, T, in.residual, in.fn, in.scale, in.base, {}, S);
        check_close("stage_a mix", mix, want.stage_a.mix, 1e-5, 1e-4);
        check_close("stage_a sqrsum", sq, want.stage_a.sqrsum, 1e-5, 1e-5);
        check_close("post_mix", post, want.post_mix, 1e-5, 1e-4);
        check_close("comb_mix", comb, want.comb_mix, 1e-5, 1e-4);
        check_close("layer_input", layer, want.layer_input, 1.6e-2, 1e-2);
      }
    }
  }
}

namespace {

// Stage A on x [T, K] with w [rows, K] into S splits (fp32), as the host API runs it.
void run_stage_a(const mhc::Config& c, const void* x, const float* w, std::int64_t T,
                 std::int64_t K, int rows, int S, std::vector<float>& mix, std::vector<float>& sq) {
  mk::StageAParams sa;
  sa.k = K;
  sa.rows = rows;
  sa.splits = S;
  sa.precision = c.gemm_precision;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  mix.assign(static_cast<std::size_t>(S * T * rows), nan);
  sq.assign(static_cast<std::size_t>(S * T), nan);
  compile_cpu(mk::stage_a(sa))
      .launch(nullptr, host(x, DType::bf16, {T, K}), host(w, DType::f32, {rows, K}),
              host(mix.data(), DType::f32, {S, T, rows}), host(sq.data(), DType::f32, {S, T}));
}

} // namespace

TEST_CASE("tensor-core stage A (token tiles, padded shared rings) on the CPU", "[cpu][mhc]") {
  // The same IR the GPU runs as mma.sync: token tails (T not a multiple of block_m), a K tail
  // (H = 1000: K = 4000 is not a multiple of 64), splits, ring depths and both precisions,
  // against the fp64 reference (TF32: fn rounded as the tensor cores round it).
  for (std::int64_t H : {1000, 4096}) {
    for (std::int64_t T : {17, 77, 130}) {
      for (int bm : {64, 128}) {
        for (auto prec : {mhc::GemmPrecision::tf32, mhc::GemmPrecision::fp32}) {
          const int S = T == 77 ? 1 : 3;
          const int stages = T == 130 ? 1 : 3;
          mhc::Config c = config(H);
          c.gemm_precision = prec;
          const int M3 = c.mix_count();
          const auto in = mhc::inputs::make_pre_inputs(c, T, 11);
          const mk::StageAMmaParams p{.k = c.k(),
                                      .rows = M3,
                                      .splits = S,
                                      .precision = prec,
                                      .block_m = bm,
                                      .stages = stages};
          const float nan = std::numeric_limits<float>::quiet_NaN();
          std::vector<float> mix(static_cast<std::size_t>(S * T * M3), nan), sq(S * T, nan);
          compile_cpu(mk::stage_a_mma(p))
              .launch(nullptr, host(in.residual.data(), DType::bf16, {T, c.k()}),
                      host(in.fn.data(), DType::f32, {M3, c.k()}),
                      host(mix.data(), DType::f32, {S, T, M3}),
                      host(sq.data(), DType::f32, {S, T}));
          INFO(mk::describe(p) << " T = " << T);
          const auto want = mhc::ref::stage_a(in.residual, in.fn, T, c.k(), M3, S, prec);
          check_close("partial_mix", mix, want.mix, 1e-5, 1e-4);
          check_close("partial_sqrsum", sq, want.sqrsum, 1e-5, 1e-5);
        }
      }
    }
  }
}

TEST_CASE("mhc_pre with the fused RMSNorm (big fuse norm) on the CPU", "[cpu][mhc]") {
  for (std::int64_t T : {1, 3}) {
    mhc::Config c = config(1000);
    c.norm_eps = 1e-5f;
    const int n = c.n(), M3 = c.mix_count(), S = 2;
    const std::int64_t H = c.hidden;
    const auto in = mhc::inputs::make_pre_inputs(c, T, 11);
    std::vector<float> mix, sq;
    run_stage_a(c, in.residual.data(), in.fn.data(), T, c.k(), M3, S, mix, sq);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> post(T * n, nan), comb(T * n * n, nan);
    std::vector<bf16> layer(T * H, bf16::from_bits(0x7fc1));
    compile_cpu(mk::big_fuse(mk::big_fuse_params(c, S, mk::BigFuseVariant::norm)))
        .launch(
            nullptr, host(mix.data(), DType::f32, {S, T, M3}), host(sq.data(), DType::f32, {S, T}),
            host(in.scale.data(), DType::f32, {3}), host(in.base.data(), DType::f32, {M3}),
            host(in.residual.data(), DType::bf16, {T, n, H}),
            host(in.norm_weight.data(), DType::bf16, {H}), host(post.data(), DType::f32, {T, n}),
            host(comb.data(), DType::f32, {T, n, n}), host(layer.data(), DType::bf16, {T, H}));
    const auto want =
        mhc::ref::mhc_pre(c, T, in.residual, in.fn, in.scale, in.base, in.norm_weight, S);
    INFO("T = " << T);
    check_close("post_mix", post, want.post_mix, 1e-5, 1e-4);
    check_close("comb_mix", comb, want.comb_mix, 1e-5, 1e-4);
    check_close("layer_input", layer, want.layer_input, 1.6e-2, 1e-2);
  }
}

TEST_CASE("mhc_pre_broadcast on the CPU", "[cpu][mhc]") {
  for (std::int64_t T : {1, 4}) {
    mhc::Config c = config(1000);
    c.norm_eps = 1e-5f;
    const int n = c.n(), M3 = c.mix_count(), S = 1;
    const std::int64_t H = c.hidden;
    const auto in = mhc::inputs::make_broadcast_inputs(c, T, 5);
    std::vector<float> mix, sq;
    run_stage_a(c, in.embedding.data(), in.fn_bcast.data(), T, H, M3, S, mix, sq);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> post(T * n, nan), comb(T * n * n, nan);
    std::vector<bf16> layer(T * H, bf16::from_bits(0x7fc1)),
        res_out(T * n * H, bf16::from_bits(0x7fc1));
    compile_cpu(mk::big_fuse(mk::big_fuse_params(c, S, mk::BigFuseVariant::broadcast)))
        .launch(nullptr, host(mix.data(), DType::f32, {S, T, M3}),
                host(sq.data(), DType::f32, {S, T}), host(in.scale.data(), DType::f32, {3}),
                host(in.base.data(), DType::f32, {M3}),
                host(in.embedding.data(), DType::bf16, {T, H}),
                host(in.norm_weight.data(), DType::bf16, {H}),
                host(res_out.data(), DType::bf16, {T, n, H}), host(post.data(), DType::f32, {T, n}),
                host(comb.data(), DType::f32, {T, n, n}), host(layer.data(), DType::bf16, {T, H}));
    const auto want = mhc::ref::mhc_pre_broadcast(c, T, in.embedding, in.fn_bcast, in.scale,
                                                  in.base, in.norm_weight, S);
    INFO("T = " << T);
    check_close("residual_out", res_out, want.residual, 0, 0);
    check_close("post_mix", post, want.post_mix, 1e-5, 1e-4);
    check_close("comb_mix", comb, want.comb_mix, 1e-5, 1e-4);
    check_close("layer_input", layer, want.layer_input, 1.6e-2, 1e-2);
  }
}

TEST_CASE("mhc_fused_post_pre (single-pass small-T kernel + big fuse) on the CPU", "[cpu][mhc]") {
  for (std::int64_t T : {1, 3}) {
    const mhc::Config c = config(1000);
    const int n = c.n(), M3 = c.mix_count(), S = 4;
    const std::int64_t H = c.hidden;
    const auto in = mhc::inputs::make_fused_post_pre_inputs(c, T, 9);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> mix(S * T * M3, nan), sq(S * T, nan), post(T * n, nan), comb(T * n * n, nan);
    std::vector<bf16> res_out(T * n * H, bf16::from_bits(0x7fc1)),
        layer(T * H, bf16::from_bits(0x7fc1));
    compile_cpu(mk::fused_post({.hidden = H, .n = n, .splits = S}))
        .launch(nullptr, host(in.post.y.data(), DType::bf16, {T, H}),
                host(in.post.residual.data(), DType::bf16, {T, n, H}),
                host(in.post.post_mix.data(), DType::f32, {T, n}),
                host(in.post.comb_mix.data(), DType::f32, {T, n, n}),
                host(in.fn.data(), DType::f32, {M3, n, H}),
                host(res_out.data(), DType::bf16, {T, n, H}),
                host(mix.data(), DType::f32, {S, T, M3}), host(sq.data(), DType::f32, {S, T}));
    compile_cpu(mk::big_fuse(mk::big_fuse_params(c, S, mk::BigFuseVariant::plain)))
        .launch(nullptr, host(mix.data(), DType::f32, {S, T, M3}),
                host(sq.data(), DType::f32, {S, T}), host(in.scale.data(), DType::f32, {3}),
                host(in.base.data(), DType::f32, {M3}),
                host(res_out.data(), DType::bf16, {T, n, H}), host(post.data(), DType::f32, {T, n}),
                host(comb.data(), DType::f32, {T, n, n}), host(layer.data(), DType::bf16, {T, H}));
    const auto want = mhc::ref::mhc_fused_post_pre_single_pass(c, T, in.post.y, in.post.residual,
                                                               in.post.post_mix, in.post.comb_mix,
                                                               in.fn, in.scale, in.base, {}, S);
    INFO("T = " << T);
    check_close("residual_out", res_out, want.residual, 1.6e-2, 1e-2);
    check_close("post_mix", post, want.post_mix, 1e-5, 1e-4);
    check_close("comb_mix", comb, want.comb_mix, 1e-5, 1e-4);
    check_close("layer_input", layer, want.layer_input, 1.6e-2, 1e-2);
  }
}

TEST_CASE("post_stage_a (post + tensor-core stage A in one kernel) on the CPU", "[cpu][mhc]") {
  // Tails everywhere: H = 1000 ends in a 40-element H tile, T = 37 in a partial token tile, T = 130
  // spans two 128-token tiles; S = 3 splits 16 H tiles unevenly; one-stage ring included.
  struct Case {
    std::int64_t H, T;
    int S, bm, stages;
  };
  for (const Case k : {Case{1000, 37, 3, 64, 3}, Case{1000, 130, 1, 128, 1}, Case{256, 1, 2, 16, 2},
                       Case{1000, 16, 5, 16, 3}}) {
    for (mhc::GemmPrecision prec : {mhc::GemmPrecision::tf32, mhc::GemmPrecision::fp32}) {
      const std::int64_t H = k.H, T = k.T;
      const int S = k.S;
      mhc::Config c = config(H);
      c.gemm_precision = prec;
      const int n = c.n(), M3 = c.mix_count();
      const auto in = mhc::inputs::make_fused_post_pre_inputs(c, T, 23);
      const mk::PostStageAParams p{.hidden = H,
                                   .n = n,
                                   .rows = M3,
                                   .splits = S,
                                   .precision = prec,
                                   .block_m = k.bm,
                                   .stages = k.stages};
      const float nan = std::numeric_limits<float>::quiet_NaN();
      std::vector<float> mix(static_cast<std::size_t>(S * T * M3), nan), sq(S * T, nan);
      std::vector<bf16> res_out(static_cast<std::size_t>(T * n * H), bf16::from_bits(0x7fc1));
      compile_cpu(mk::post_stage_a(p))
          .launch(nullptr, host(in.post.y.data(), DType::bf16, {T, H}),
                  host(in.post.residual.data(), DType::bf16, {T, n, H}),
                  host(in.post.post_mix.data(), DType::f32, {T, n}),
                  host(in.post.comb_mix.data(), DType::f32, {T, n, n}),
                  host(in.fn.data(), DType::f32, {M3, n, H}),
                  host(res_out.data(), DType::bf16, {T, n, H}),
                  host(mix.data(), DType::f32, {S, T, M3}), host(sq.data(), DType::f32, {S, T}));
      INFO(mk::describe(p) << " T = " << T);
      // The new residual is mhc_post's; the partials are the projection and square sum of the
      // stored (rounded) residual over each split's whole 64-element H tiles, every stream.
      const auto post_want =
          mhc::ref::mhc_post(c, T, in.post.y, in.post.residual, in.post.post_mix, in.post.comb_mix);
      check_close("residual_out", res_out, post_want, 1.6e-2, 1e-2);
      std::vector<double> want_mix(mix.size()), want_sq(sq.size());
      for (int s = 0; s < S; ++s) {
        const auto r = mhc::ref::stage_a_split_range(H, S, s);
        for (std::int64_t t = 0; t < T; ++t) {
          double q = 0;
          for (int j = 0; j < n; ++j) {
            for (std::int64_t h = r.begin; h < r.end; ++h) {
              const double v = static_cast<float>(res_out[(t * n + j) * H + h]);
              q += v * v;
            }
          }
          want_sq[s * T + t] = q;
          for (int m = 0; m < M3; ++m) {
            double a = 0;
            for (int j = 0; j < n; ++j) {
              for (std::int64_t h = r.begin; h < r.end; ++h) {
                const float w = in.fn[(m * n + j) * H + h];
                const double wr = prec == mhc::GemmPrecision::tf32 ? mhc::ref::round_to_tf32(w) : w;
                a += static_cast<float>(res_out[(t * n + j) * H + h]) * wr;
              }
            }
            want_mix[(s * T + t) * M3 + m] = a;
          }
        }
      }
      check_close("partial_mix", mix, want_mix, 1e-6, 1e-4);
      check_close("partial_sqrsum", sq, want_sq, 1e-5, 1e-5);
    }
  }
}

TEST_CASE("hc_head (stage A + head collapse) on the CPU", "[cpu][mhc]") {
  for (std::int64_t T : {1, 5}) {
    const mhc::Config c = config(1000);
    const int n = c.n(), S = 1;
    const std::int64_t H = c.hidden;
    const auto in = mhc::inputs::make_head_inputs(c, T, 13);
    std::vector<float> mix, sq;
    run_stage_a(c, in.residual.data(), in.fn.data(), T, c.k(), n, S, mix, sq);
    std::vector<bf16> out(T * H, bf16::from_bits(0x7fc1));
    compile_cpu(
        mk::head_collapse(
            {.hidden = H, .n = n, .splits = S, .rms_eps = c.rms_eps, .hc_eps = c.hc_pre_eps}))
        .launch(nullptr, host(mix.data(), DType::f32, {S, T, n}),
                host(sq.data(), DType::f32, {S, T}), host(in.scale.data(), DType::f32, {1}),
                host(in.base.data(), DType::f32, {n}),
                host(in.residual.data(), DType::bf16, {T, n, H}),
                host(out.data(), DType::bf16, {T, H}));
    const auto want = mhc::ref::hc_head(c, T, in.residual, in.fn, in.scale, in.base);
    INFO("T = " << T);
    check_close("out", out, want, 1.6e-2, 1e-2);
  }
}

TEST_CASE("hc_head in one pass (head_fused: a cluster per token tile) on the CPU", "[cpu][mhc]") {
  // Several tiles per cluster (the persistent loop), a ragged last tile, slices that end past H
  // (H = 1000 in 8 slices of 128) and fewer blocks than slices with columns (H = 40).
  struct Case {
    std::int64_t H, T;
    int block_m, max_clusters, threads;
  };
  for (const Case k : {Case{1000, 1, 8, 2, 128}, Case{1000, 37, 4, 2, 64}, Case{256, 9, 2, 3, 32},
                       Case{40, 5, 3, 1, 32}}) {
    const mhc::Config c = config(k.H);
    const int n = c.n();
    const std::int64_t T = k.T, H = k.H;
    const mk::HeadFusedParams p{.hidden = H,
                                .n = n,
                                .block_m = k.block_m,
                                .threads = k.threads,
                                .max_clusters = k.max_clusters,
                                .rms_eps = c.rms_eps,
                                .hc_eps = c.hc_pre_eps};
    const auto in = mhc::inputs::make_head_inputs(c, T, 17);
    std::vector<bf16> out(T * H, bf16::from_bits(0x7fc1));
    std::vector<float> mix(p.cluster * T * n, std::nanf("")), sq(p.cluster * T, std::nanf(""));
    compile_cpu(mk::head_fused(p))
        .launch(nullptr, host(in.fn.data(), DType::f32, {n, n, H}),
                host(in.scale.data(), DType::f32, {1}), host(in.base.data(), DType::f32, {n}),
                host(in.residual.data(), DType::bf16, {T, n, H}),
                host(out.data(), DType::bf16, {T, H}),
                host(mix.data(), DType::f32, {p.cluster, T, n}),
                host(sq.data(), DType::f32, {p.cluster, T}));
    const auto want = mhc::ref::hc_head(c, T, in.residual, in.fn, in.scale, in.base);
    INFO("H = " << H << ", T = " << T);
    check_close("out", out, want, 1.6e-2, 1e-2);
  }
}
