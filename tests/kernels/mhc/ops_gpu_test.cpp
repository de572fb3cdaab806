// GPU tests of the mHC host API against the fp64 references (label gpu: needs a CUDA device and
// fails without one). Every case of tests/kernels/mhc/configs.h runs through the OpSpec table
// (kernels/mhc/op_spec.h) and run_op (kernels/mhc/op_runner.h): the spec's inputs
// (kernels/mhc/inputs.h), every output poisoned (NaN bytes) before the call, every element
// checked against the reference with the op's tolerance. Each case prints one summary line: op,
// shape, variant, worst absolute/relative error per output.
#include "kernels/mhc/inputs.h"
#include "kernels/mhc/op_runner.h"
#include "kernels/mhc/op_spec.h"
#include "kernels/mhc/ops.h"
#include "runtime/cuda_graph.h"
#include "runtime/device.h"
#include "runtime/driver.h"
#include "runtime/memory.h"
#include "runtime/tensor_storage.h"
#include "tests/kernels/mhc/configs.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <fmt/format.h>
#include <type_traits>
#include <vector>

namespace mhc = tessera::mhc;
namespace inputs = tessera::mhc::inputs;
using mhc::Op;
using tessera::bf16;
using tessera::DType;
using tessera::MemoryKind;
using tessera::TensorStorage;
using tessera::TensorView;

namespace {

void report(const std::string& line, bool ok) {
  fmt::print("[mhc gpu] {} {}\n", ok ? "PASS" : "FAIL", line);
  std::fflush(stdout);
  CHECK(ok);
}

/** The seed of each op's inputs. */
std::uint64_t seed_of(Op op) {
  switch (op) {
  case Op::mhc_pre:
    return 0;
  case Op::mhc_pre_broadcast:
    return 1;
  case Op::mhc_post:
    return 2;
  case Op::mhc_fused_post_pre:
    return 3;
  case Op::hc_head:
    return 4;
  case Op::sinkhorn:
    return 5;
  default:
    return 6;
  }
}

/** Runs one case on device 0 and compares every output with the reference. */
void check(const mhc::testing::OpCase& oc) {
  const mhc::Config& c = oc.config;
  const std::int64_t T = oc.tokens;
  const mhc::Plan plan = mhc::make_plan(
      {.op = oc.op, .config = c, .tokens = T, .target = mhc::target_for(MemoryKind::cuda)});
  const mhc::OpSpec& spec = mhc::op_spec(oc.op);
  const auto in = spec.inputs(c, T, plan.splits, seed_of(oc.op));
  const auto got = mhc::run_op(plan, in, MemoryKind::cuda);
  const auto want = spec.reference(c, T, plan.splits, in);
  const auto outputs = mhc::outputs_of(spec.tensors(c, T, plan.splits));
  std::string line = fmt::format(
      "{} H={} T={} n={} S={} {}{}", mhc::op_name(oc.op), c.hidden, T, c.hc_mult, plan.splits,
      c.gemm_precision == mhc::GemmPrecision::tf32 ? "tf32" : "fp32", c.norm_eps ? " norm" : "");
  bool ok = true;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const mhc::Comparison cmp = mhc::compare(got[i], want[i], outputs[i].tolerance);
    const double max_abs = cmp.non_finite ? INFINITY : cmp.max_abs;
    line += fmt::format(
        " | {} abs {:.2e} rel {:.2e}{}", outputs[i].name, max_abs, cmp.max_rel,
        cmp.ok() ? "" : fmt::format(" FAIL {}/{}", cmp.outside + cmp.non_finite, got[i].numel()));
    ok &= cmp.ok();
  }
  report(line, ok);
}

void check_all(Op op) {
  for (const auto& oc : mhc::testing::gpu_cases()) {
    if (oc.op == op) {
      check(oc);
    }
  }
}

mhc::Config vllm_config(std::int64_t hidden) {
  return mhc::testing::make_config(hidden);
}

tessera::Stream& stream() {
  static tessera::Stream s(0);
  return s;
}

/** A device tensor with its shape. */
struct Dev {
  TensorStorage buf;
  std::vector<std::int64_t> shape;
  DType dtype;
  TensorView view() const { return buf.view(dtype, shape); }
};

template <class T> DType dtype_of() {
  return std::is_same_v<T, float> ? DType::f32 : DType::bf16;
}

std::int64_t numel(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (auto s : shape) {
    n *= s;
  }
  return n;
}

/** Uploads `v` (at least 16 bytes allocated, so T = 0 tensors get a valid pointer). */
template <class T> Dev upload(const std::vector<T>& v, std::vector<std::int64_t> shape) {
  Dev d{TensorStorage(MemoryKind::cuda, std::max<std::size_t>(v.size() * sizeof(T), 16)),
        std::move(shape), dtype_of<T>()};
  d.buf.upload(v.data(), v.size() * sizeof(T));
  return d;
}

/** An output filled with 0xFF bytes (NaN in f32 and bf16). */
template <class T> Dev poisoned(std::vector<std::int64_t> shape) {
  const std::int64_t n = numel(shape);
  Dev d{TensorStorage(MemoryKind::cuda, std::max<std::size_t>(n * sizeof(T), 16)), std::move(shape),
        dtype_of<T>()};
  d.buf.poison();
  return d;
}

} // namespace

TEST_CASE("a CUDA device is present", "[mhc][gpu]") {
  // gpu tests fail, not skip, without a device.
  REQUIRE(tessera::device_count() > 0);
  fmt::print("[mhc gpu] device: {} ({} SMs)\n", tessera::device_info(0).name,
             tessera::device_info(0).sm_count);
}

TEST_CASE("mhc_pre: vLLM grid in both precisions, edge token counts, odd hidden, fixed splits, "
          "fused norm, stream counts",
          "[mhc][gpu][pre]") {
  check_all(Op::mhc_pre);
}

TEST_CASE("mhc_pre_broadcast", "[mhc][gpu][pre]") {
  check_all(Op::mhc_pre_broadcast);
}

TEST_CASE("stage A partials against the reference", "[mhc][gpu][stage_a]") {
  check_all(Op::stage_a);
}

TEST_CASE("mhc_post", "[mhc][gpu][post]") {
  check_all(Op::mhc_post);
}

TEST_CASE("mhc_fused_post_pre", "[mhc][gpu][fused]") {
  check_all(Op::mhc_fused_post_pre);
}

TEST_CASE("hc_head", "[mhc][gpu][head]") {
  check_all(Op::hc_head);
}

TEST_CASE("hc_head in one pass (head_fused, opt-in on sm_90+)", "[mhc][gpu][head][head_fused]") {
  const mhc::testing::HeadFusedOn on;
  check_all(Op::hc_head);
}

TEST_CASE("sinkhorn", "[mhc][gpu][sinkhorn]") {
  check_all(Op::sinkhorn);
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
  TensorStorage ws;

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
        ws(MemoryKind::cuda, ws_bytes) {}

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
      std::vector<std::uint8_t> b = d->buf.to_host<std::uint8_t>(d->buf.size());
      all.insert(all.end(), b.begin(), b.end());
    }
    return all;
  }
  void poison() {
    for (Dev* d : {&post, &comb, &li, &out, &hout}) {
      d->buf.poison();
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
