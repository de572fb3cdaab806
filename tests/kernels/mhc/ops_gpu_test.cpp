// GPU tests of the mHC host API against the fp64 references (label gpu: needs a CUDA device and
// fails without one). Inputs follow the spec's recipe (kernels/mhc/inputs.h); every output is
// poisoned (NaN bytes) before the call and every element is checked. Each case prints one
// summary line: op, shape, variant, worst absolute/relative error per output.
#include "kernels/mhc/inputs.h"
#include "kernels/mhc/ops.h"
#include "kernels/mhc/reference.h"
#include "runtime/cuda_graph.h"
#include "runtime/device.h"
#include "runtime/driver.h"
#include "runtime/memory.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <optional>
#include <vector>

namespace mhc = tessera::mhc;
namespace ref = tessera::mhc::ref;
namespace inputs = tessera::mhc::inputs;
using tessera::bf16;
using tessera::DeviceBuffer;
using tessera::DType;
using tessera::TensorView;

namespace {

struct Tol {
  double atol, rtol;
};
constexpr Tol kPreTol{5e-2, 1e-2};
constexpr Tol kPostTol{5e-2, 1e-2};
constexpr Tol kFusedTol{1e-2, 1e-2};
constexpr Tol kHeadTol{5e-2, 1e-2};

double to_double(float v) {
  return v;
}
double to_double(bf16 v) {
  return static_cast<double>(static_cast<float>(v));
}

/** A device tensor with its host shape. */
struct Dev {
  DeviceBuffer buf;
  std::vector<std::int64_t> shape;
  DType dtype;
  TensorView view() const {
    return TensorView(buf.data(), dtype, std::span<const std::int64_t>(shape));
  }
};

template <class T> DType dtype_of() {
  return std::is_same_v<T, float> ? DType::f32 : DType::bf16;
}

/** Uploads `v` (at least 16 bytes allocated, so T = 0 tensors get a valid pointer). */
template <class T> Dev upload(const std::vector<T>& v, std::vector<std::int64_t> shape) {
  Dev d{DeviceBuffer(std::max<std::size_t>(v.size() * sizeof(T), 16)), std::move(shape),
        dtype_of<T>()};
  if (!v.empty()) {
    d.buf.copy_from_host(v.data(), v.size() * sizeof(T));
  }
  return d;
}

/** An output filled with 0xFF bytes (NaN in f32 and bf16). */
template <class T> Dev poisoned(std::vector<std::int64_t> shape) {
  std::int64_t n = 1;
  for (auto s : shape) {
    n *= s;
  }
  Dev d{DeviceBuffer(std::max<std::size_t>(n * sizeof(T), 16)), std::move(shape), dtype_of<T>()};
  d.buf.fill_bytes(0xFF);
  return d;
}

template <class T> std::vector<T> download(const Dev& d) {
  std::int64_t n = 1;
  for (auto s : d.shape) {
    n *= s;
  }
  std::vector<T> out(n);
  if (n) {
    d.buf.copy_to_host(out.data(), n * sizeof(T));
  }
  return out;
}

/** Compares every element; NaN (poison left behind) counts as a failure. */
template <class T, class R>
bool compare(std::string& summary, const char* name, const std::vector<T>& got,
             const std::vector<R>& want, Tol tol) {
  REQUIRE(got.size() == want.size());
  double max_abs = 0, max_rel = 0;
  std::size_t bad = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = to_double(got[i]);
    const double w = to_double(want[i]);
    const double err = std::abs(g - w);
    if (!(err <= tol.atol + tol.rtol * std::abs(w))) {
      ++bad;
    }
    if (std::isfinite(err)) {
      max_abs = std::max(max_abs, err);
      max_rel = std::max(max_rel, err / std::max(std::abs(w), 1e-30));
    } else {
      max_abs = INFINITY;
    }
  }
  summary += fmt::format(" | {} abs {:.2e} rel {:.2e}{}", name, max_abs, max_rel,
                         bad ? fmt::format(" FAIL {}/{}", bad, got.size()) : "");
  return bad == 0;
}

void report(const std::string& line, bool ok) {
  fmt::print("[mhc gpu] {} {}\n", ok ? "PASS" : "FAIL", line);
  std::fflush(stdout);
  CHECK(ok);
}

tessera::Stream& stream() {
  static tessera::Stream s(0);
  return s;
}

mhc::Config vllm_config(std::int64_t hidden) {
  mhc::Config c;
  c.hidden = hidden;
  c.post_mult = 1.0f; // vLLM's unit tests
  return c;
}

const char* prec(mhc::GemmPrecision p) {
  return p == mhc::GemmPrecision::tf32 ? "tf32" : "fp32";
}

// ---------------------------------------------------------------------------------------------

void check_pre(const mhc::Config& c, std::int64_t T, std::uint64_t seed = 0) {
  const int n = c.hc_mult;
  const int S = T == 0 ? 1 : mhc::pre_num_splits(c, T);
  const auto in = inputs::make_pre_inputs(c, T, seed);
  Dev res = upload(in.residual, {T, n, c.hidden});
  Dev fn = upload(in.fn, {c.mix_count(), c.k()});
  Dev scale = upload(in.scale, {3});
  Dev base = upload(in.base, {c.mix_count()});
  std::optional<Dev> w;
  if (c.norm_eps) {
    w.emplace(upload(in.norm_weight, {c.hidden}));
  }
  Dev post = poisoned<float>({T, n});
  Dev comb = poisoned<float>({T, n, n});
  Dev li = poisoned<bf16>({T, c.hidden});
  const std::int64_t ws_bytes = std::max<std::int64_t>(mhc::pre_workspace_bytes(c, T), 256);
  DeviceBuffer ws(ws_bytes);
  mhc::PreArgs args{.residual = res.view(),
                    .fn = fn.view(),
                    .scale = scale.view(),
                    .base = base.view(),
                    .norm_weight = w ? std::optional<TensorView>(w->view()) : std::nullopt,
                    .post_mix = post.view(),
                    .comb_mix = comb.view(),
                    .layer_input = li.view(),
                    .workspace = ws.view(DType::u8, {ws_bytes})};
  mhc::mhc_pre(c, args, stream());
  stream().synchronize();
  const auto want = ref::mhc_pre(c, T, in.residual, in.fn, in.scale, in.base, in.norm_weight, S);
  std::string line = fmt::format("mhc_pre H={} T={} n={} S={} {}{}", c.hidden, T, n, S,
                                 prec(c.gemm_precision), c.norm_eps ? " norm" : "");
  bool ok = compare(line, "post", download<float>(post), want.post_mix, kPreTol);
  ok &= compare(line, "comb", download<float>(comb), want.comb_mix, kPreTol);
  ok &= compare(line, "layer_input", download<bf16>(li), want.layer_input, kPreTol);
  report(line, ok);
}

void check_pre_broadcast(const mhc::Config& c, std::int64_t T) {
  const int n = c.hc_mult;
  const int S = T == 0 ? 1 : mhc::pre_broadcast_num_splits(c, T);
  const auto in = inputs::make_broadcast_inputs(c, T, 1);
  Dev emb = upload(in.embedding, {T, c.hidden});
  Dev fnb = upload(in.fn_bcast, {c.mix_count(), c.hidden});
  Dev scale = upload(in.scale, {3});
  Dev base = upload(in.base, {c.mix_count()});
  Dev w = upload(in.norm_weight, {c.hidden});
  Dev res_out = poisoned<bf16>({T, n, c.hidden});
  Dev post = poisoned<float>({T, n});
  Dev comb = poisoned<float>({T, n, n});
  Dev li = poisoned<bf16>({T, c.hidden});
  const std::int64_t ws_bytes =
      std::max<std::int64_t>(mhc::pre_broadcast_workspace_bytes(c, T), 256);
  DeviceBuffer ws(ws_bytes);
  mhc::mhc_pre_broadcast(c,
                         {.embedding = emb.view(),
                          .fn_bcast = fnb.view(),
                          .scale = scale.view(),
                          .base = base.view(),
                          .norm_weight = w.view(),
                          .residual_out = res_out.view(),
                          .post_mix = post.view(),
                          .comb_mix = comb.view(),
                          .layer_input = li.view(),
                          .workspace = ws.view(DType::u8, {ws_bytes})},
                         stream());
  stream().synchronize();
  const auto want =
      ref::mhc_pre_broadcast(c, T, in.embedding, in.fn_bcast, in.scale, in.base, in.norm_weight, S);
  std::string line =
      fmt::format("mhc_pre_broadcast H={} T={} S={} {}", c.hidden, T, S, prec(c.gemm_precision));
  bool ok = compare(line, "residual_out", download<bf16>(res_out), want.residual, Tol{0, 0});
  ok &= compare(line, "post", download<float>(post), want.post_mix, kPreTol);
  ok &= compare(line, "comb", download<float>(comb), want.comb_mix, kPreTol);
  ok &= compare(line, "layer_input", download<bf16>(li), want.layer_input, kPreTol);
  report(line, ok);
}

void check_post(const mhc::Config& c, std::int64_t T) {
  const int n = c.hc_mult;
  const auto in = inputs::make_post_inputs(c, T, 2);
  Dev y = upload(in.y, {T, c.hidden});
  Dev res = upload(in.residual, {T, n, c.hidden});
  Dev post = upload(in.post_mix, {T, n});
  Dev comb = upload(in.comb_mix, {T, n, n});
  Dev out = poisoned<bf16>({T, n, c.hidden});
  mhc::mhc_post(c,
                {.y = y.view(),
                 .residual = res.view(),
                 .post_mix = post.view(),
                 .comb_mix = comb.view(),
                 .out = out.view()},
                stream());
  stream().synchronize();
  const auto want = ref::mhc_post(c, T, in.y, in.residual, in.post_mix, in.comb_mix);
  std::string line = fmt::format("mhc_post H={} T={} n={}", c.hidden, T, n);
  report(line, compare(line, "out", download<bf16>(out), want, kPostTol));
}

void check_fused(const mhc::Config& c, std::int64_t T) {
  const int n = c.hc_mult;
  const int S = T == 0 ? 1 : mhc::fused_post_pre_num_splits(c, T);
  const auto in = inputs::make_fused_post_pre_inputs(c, T, 3);
  Dev y = upload(in.post.y, {T, c.hidden});
  Dev res = upload(in.post.residual, {T, n, c.hidden});
  Dev post = upload(in.post.post_mix, {T, n});
  Dev comb = upload(in.post.comb_mix, {T, n, n});
  Dev fn = upload(in.fn, {c.mix_count(), c.k()});
  Dev scale = upload(in.scale, {3});
  Dev base = upload(in.base, {c.mix_count()});
  std::optional<Dev> w;
  if (c.norm_eps) {
    w.emplace(upload(in.norm_weight, {c.hidden}));
  }
  Dev res_out = poisoned<bf16>({T, n, c.hidden});
  Dev post_out = poisoned<float>({T, n});
  Dev comb_out = poisoned<float>({T, n, n});
  Dev li = poisoned<bf16>({T, c.hidden});
  const std::int64_t ws_bytes =
      std::max<std::int64_t>(mhc::fused_post_pre_workspace_bytes(c, T), 256);
  DeviceBuffer ws(ws_bytes);
  mhc::mhc_fused_post_pre(c,
                          {.y = y.view(),
                           .residual = res.view(),
                           .post_mix = post.view(),
                           .comb_mix = comb.view(),
                           .fn = fn.view(),
                           .scale = scale.view(),
                           .base = base.view(),
                           .norm_weight = w ? std::optional<TensorView>(w->view()) : std::nullopt,
                           .residual_out = res_out.view(),
                           .post_mix_out = post_out.view(),
                           .comb_mix_out = comb_out.view(),
                           .layer_input = li.view(),
                           .workspace = ws.view(DType::u8, {ws_bytes})},
                          stream());
  stream().synchronize();
  const auto want =
      T <= mhc::kFusedSmallT
          ? ref::mhc_fused_post_pre_single_pass(c, T, in.post.y, in.post.residual, in.post.post_mix,
                                                in.post.comb_mix, in.fn, in.scale, in.base,
                                                in.norm_weight, S)
          : ref::mhc_fused_post_pre(c, T, in.post.y, in.post.residual, in.post.post_mix,
                                    in.post.comb_mix, in.fn, in.scale, in.base, in.norm_weight, S);
  std::string line = fmt::format("mhc_fused_post_pre H={} T={} S={} {}{}", c.hidden, T, S,
                                 prec(c.gemm_precision), c.norm_eps ? " norm" : "");
  bool ok = compare(line, "residual", download<bf16>(res_out), want.residual, kFusedTol);
  ok &= compare(line, "post", download<float>(post_out), want.post_mix, kFusedTol);
  ok &= compare(line, "comb", download<float>(comb_out), want.comb_mix, kFusedTol);
  ok &= compare(line, "layer_input", download<bf16>(li), want.layer_input, kFusedTol);
  report(line, ok);
}

void check_head(const mhc::Config& c, std::int64_t T) {
  const int n = c.hc_mult;
  const auto in = inputs::make_head_inputs(c, T, 4);
  Dev res = upload(in.residual, {T, n, c.hidden});
  Dev fn = upload(in.fn, {n, c.k()});
  Dev scale = upload(in.scale, {1});
  Dev base = upload(in.base, {n});
  Dev out = poisoned<bf16>({T, c.hidden});
  const std::int64_t ws_bytes = std::max<std::int64_t>(mhc::head_workspace_bytes(c, T), 256);
  DeviceBuffer ws(ws_bytes);
  mhc::hc_head(c,
               {.residual = res.view(),
                .fn = fn.view(),
                .scale = scale.view(),
                .base = base.view(),
                .out = out.view()},
               ws.view(DType::u8, {ws_bytes}), stream());
  stream().synchronize();
  const auto want = ref::hc_head(c, T, in.residual, in.fn, in.scale, in.base);
  std::string line = fmt::format("hc_head H={} T={} n={}", c.hidden, T, n);
  report(line, compare(line, "out", download<bf16>(out), want, kHeadTol));
}

void check_sinkhorn(const mhc::Config& c, std::int64_t T) {
  const int n = c.hc_mult;
  const auto logits = inputs::make_sinkhorn_logits(c, T, 5);
  Dev in = upload(logits, {T, n, n});
  Dev out = poisoned<float>({T, n, n});
  mhc::sinkhorn(c, {.logits = in.view(), .comb = out.view()}, stream());
  stream().synchronize();
  const auto want = ref::sinkhorn(logits, T, n, c.sinkhorn_iters, c.hc_sinkhorn_eps);
  std::string line = fmt::format("sinkhorn T={} n={} R={}", T, n, c.sinkhorn_iters);
  report(line, compare(line, "comb", download<float>(out), want, Tol{1e-5, 1e-4}));
}

void check_stage_a(const mhc::Config& c, std::int64_t T, int S) {
  const auto in = inputs::make_pre_inputs(c, T, 6);
  const int m = c.mix_count();
  Dev x = upload(in.residual, {T, c.k()});
  Dev fn = upload(in.fn, {m, c.k()});
  Dev pm = poisoned<float>({S, T, m});
  Dev ps = poisoned<float>({S, T});
  mhc::stage_a(
      c, {.x = x.view(), .fn = fn.view(), .partial_mix = pm.view(), .partial_sqrsum = ps.view()},
      c.k(), stream());
  stream().synchronize();
  const auto want = ref::stage_a(in.residual, in.fn, T, c.k(), m, S, c.gemm_precision);
  // Relative to the tensor's scale: partial sums of random-sign products cancel.
  double scale_mix = 0, scale_sq = 0;
  for (float v : want.mix) {
    scale_mix = std::max(scale_mix, std::abs(static_cast<double>(v)));
  }
  for (float v : want.sqrsum) {
    scale_sq = std::max(scale_sq, std::abs(static_cast<double>(v)));
  }
  const double r = c.gemm_precision == mhc::GemmPrecision::tf32 ? 1e-3 : 1e-5;
  std::string line = fmt::format("stage_a K={} T={} S={} {}", c.k(), T, S, prec(c.gemm_precision));
  bool ok = compare(line, "partial_mix", download<float>(pm), want.mix, Tol{r * scale_mix, r});
  ok &= compare(line, "partial_sqrsum", download<float>(ps), want.sqrsum, Tol{r * scale_sq, r});
  report(line, ok);
}

} // namespace

TEST_CASE("a CUDA device is present", "[mhc][gpu]") {
  // gpu tests fail, not skip, without a device.
  REQUIRE(tessera::device_count() > 0);
  fmt::print("[mhc gpu] device: {} ({} SMs)\n", tessera::device_info(0).name,
             tessera::device_info(0).sm_count);
}

TEST_CASE("mhc_pre: vLLM grid, both precisions", "[mhc][gpu][pre]") {
  for (auto p : {mhc::GemmPrecision::tf32, mhc::GemmPrecision::fp32}) {
    for (std::int64_t H : {4096, 7168}) {
      for (std::int64_t T : {1, 4, 8, 128}) {
        mhc::Config c = vllm_config(H);
        c.gemm_precision = p;
        check_pre(c, T);
      }
    }
  }
}

TEST_CASE("mhc_pre: edge token counts, odd hidden, fixed splits, fused norm", "[mhc][gpu][pre]") {
  for (std::int64_t T : {0, 3, 1000, 16384}) {
    check_pre(vllm_config(4096), T);
  }
  for (std::int64_t H : {5137, 1000}) {
    check_pre(vllm_config(H), 3);
    check_pre(vllm_config(H), 130);
  }
  for (int S : {1, 3, 16, 64}) {
    mhc::Config c = vllm_config(7168);
    c.split = mhc::SplitPolicy::fixed(S);
    check_pre(c, 8);
  }
  for (std::int64_t H : {4096, 7168, 5137}) {
    mhc::Config c = vllm_config(H);
    c.norm_eps = 1e-5f;
    c.post_mult = 2.0f;
    for (std::int64_t T : {1, 8, 128}) {
      check_pre(c, T);
    }
  }
  for (int n : {2, 3, 8}) {
    mhc::Config c = vllm_config(4096);
    c.hc_mult = n;
    check_pre(c, 5);
  }
}

TEST_CASE("mhc_pre_broadcast", "[mhc][gpu][pre]") {
  for (std::int64_t H : {4096, 7168, 5137}) {
    for (std::int64_t T : {0, 1, 8, 128, 1000}) {
      mhc::Config c = vllm_config(H);
      c.norm_eps = 1e-5f;
      check_pre_broadcast(c, T);
    }
  }
}

TEST_CASE("stage A partials against the reference", "[mhc][gpu][stage_a]") {
  for (auto p : {mhc::GemmPrecision::tf32, mhc::GemmPrecision::fp32}) {
    for (int S : {1, 4, 16, 28}) {
      mhc::Config c = vllm_config(7168);
      c.gemm_precision = p;
      check_stage_a(c, 13, S);  // per-token FMA kernel (T <= 16)
      check_stage_a(c, 200, S); // tensor-core kernel (64-token tiles)
    }
    mhc::Config c = vllm_config(5137);
    c.gemm_precision = p;
    check_stage_a(c, 3, 5);
    check_stage_a(c, 77, 5);
  }
}

TEST_CASE("mhc_post", "[mhc][gpu][post]") {
  for (std::int64_t H : {4096, 7168}) {
    for (std::int64_t T : {1, 4, 8, 128}) {
      check_post(vllm_config(H), T);
    }
  }
  for (std::int64_t T : {0, 3, 1000, 16384}) {
    check_post(vllm_config(4096), T);
  }
  check_post(vllm_config(5137), 7);
  check_post(vllm_config(1000), 33);
  for (int n : {2, 8}) {
    mhc::Config c = vllm_config(4096);
    c.hc_mult = n;
    check_post(c, 5);
  }
}

TEST_CASE("mhc_fused_post_pre", "[mhc][gpu][fused]") {
  for (std::int64_t H : {4096, 7168}) {
    for (std::int64_t T : {1, 4, 8, 128}) {
      check_fused(vllm_config(H), T);
    }
  }
  for (std::int64_t T : {0, 3, 16, 17, 1000}) {
    check_fused(vllm_config(4096), T);
  }
  check_fused(vllm_config(5137), 5);
  check_fused(vllm_config(5137), 40);
  for (std::int64_t T : {2, 128}) {
    mhc::Config c = vllm_config(7168);
    c.norm_eps = 1e-5f;
    check_fused(c, T);
    c.gemm_precision = mhc::GemmPrecision::fp32;
    check_fused(c, T);
  }
}

TEST_CASE("hc_head", "[mhc][gpu][head]") {
  for (std::int64_t H : {4096, 7168}) {
    for (std::int64_t T : {1, 4, 8, 128}) {
      check_head(vllm_config(H), T);
    }
  }
  for (std::int64_t T : {0, 3, 1000}) {
    check_head(vllm_config(4096), T);
  }
  check_head(vllm_config(5137), 9);
}

TEST_CASE("sinkhorn", "[mhc][gpu][sinkhorn]") {
  for (std::int64_t T : {0, 1, 1000}) {
    check_sinkhorn(vllm_config(4096), T);
  }
  mhc::Config c = vllm_config(4096);
  c.hc_mult = 8;
  c.sinkhorn_iters = 1;
  check_sinkhorn(c, 77);
}

// ---------------------------------------------------------------------------------------------
// Determinism and CUDA graphs

namespace {

/** Device state of one mhc_pre + mhc_post + hc_head sequence, reusable across runs. */
struct Pipeline {
  mhc::Config c;
  std::int64_t T;
  inputs::PreInputs in;
  inputs::PostInputs pin;
  inputs::HeadInputs hin;
  Dev res, fn, scale, base, post, comb, li, y, out, hfn, hscale, hbase, hout;
  std::int64_t ws_bytes;
  DeviceBuffer ws;

  Pipeline(mhc::Config cfg, std::int64_t t)
      : c(cfg), T(t), in(inputs::make_pre_inputs(c, T, 7)), pin(inputs::make_post_inputs(c, T, 8)),
        hin(inputs::make_head_inputs(c, T, 9)), res(upload(in.residual, {T, c.hc_mult, c.hidden})),
        fn(upload(in.fn, {c.mix_count(), c.k()})), scale(upload(in.scale, {3})),
        base(upload(in.base, {c.mix_count()})), post(poisoned<float>({T, c.hc_mult})),
        comb(poisoned<float>({T, c.hc_mult, c.hc_mult})), li(poisoned<bf16>({T, c.hidden})),
        y(upload(pin.y, {T, c.hidden})), out(poisoned<bf16>({T, c.hc_mult, c.hidden})),
        hfn(upload(hin.fn, {c.hc_mult, c.k()})), hscale(upload(hin.scale, {1})),
        hbase(upload(hin.base, {c.hc_mult})), hout(poisoned<bf16>({T, c.hidden})),
        ws_bytes(std::max(mhc::pre_workspace_bytes(c, T), mhc::head_workspace_bytes(c, T))),
        ws(ws_bytes) {}

  void run(CUstream s) {
    const TensorView wsv = ws.view(DType::u8, {ws_bytes});
    mhc::mhc_pre(c,
                 {.residual = res.view(),
                  .fn = fn.view(),
                  .scale = scale.view(),
                  .base = base.view(),
                  .norm_weight = std::nullopt,
                  .post_mix = post.view(),
                  .comb_mix = comb.view(),
                  .layer_input = li.view(),
                  .workspace = wsv},
                 s);
    mhc::mhc_post(c,
                  {.y = y.view(),
                   .residual = res.view(),
                   .post_mix = post.view(),
                   .comb_mix = comb.view(),
                   .out = out.view()},
                  s);
    mhc::hc_head(c,
                 {.residual = out.view(),
                  .fn = hfn.view(),
                  .scale = hscale.view(),
                  .base = hbase.view(),
                  .out = hout.view()},
                 wsv, s);
  }
  std::vector<std::uint8_t> snapshot() const {
    std::vector<std::uint8_t> all;
    for (const Dev* d : {&post, &comb, &li, &out, &hout}) {
      std::vector<std::uint8_t> b(d->buf.size());
      d->buf.copy_to_host(b.data(), b.size());
      all.insert(all.end(), b.begin(), b.end());
    }
    return all;
  }
  void poison() {
    for (Dev* d : {&post, &comb, &li, &out, &hout}) {
      d->buf.fill_bytes(0xFF);
    }
  }
};

} // namespace

TEST_CASE("results are bit-identical run to run", "[mhc][gpu][determinism]") {
  for (std::int64_t T : {4, 1000}) {
    Pipeline p(vllm_config(7168), T);
    p.run(stream());
    stream().synchronize();
    const auto first = p.snapshot();
    p.poison();
    p.run(stream());
    stream().synchronize();
    const bool same = first == p.snapshot();
    report(fmt::format("determinism pre+post+head H=7168 T={}", T), same);
  }
}

TEST_CASE("CUDA-graph replay equals eager", "[mhc][gpu][graph]") {
  for (std::int64_t T : {1, 16, 300}) {
    Pipeline p(vllm_config(4096), T);
    p.run(stream()); // compiles outside the capture
    stream().synchronize();
    const auto eager = p.snapshot();
    p.poison();
    const tessera::CudaGraph g(stream(), [&] { p.run(stream()); });
    g.launch(stream());
    stream().synchronize();
    const auto first = p.snapshot();
    p.poison();
    g.launch(stream());
    stream().synchronize();
    report(fmt::format("graph replay pre+post+head H=4096 T={}", T),
           first == eager && p.snapshot() == eager);
  }
}
