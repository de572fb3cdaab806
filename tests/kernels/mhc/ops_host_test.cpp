// The mHC host API on host memory: the same DSL kernels through the CPU backend (LLVM), against
// the fp64 references with the vLLM tolerances; and every op of the OpSpec table through
// run_op (kernels/mhc/op_runner.h), the path `tessera run` and the GPU tests take. Needs a
// build with TESSERA_ENABLE_LLVM.
#include "jit/target.h"
#include "kernels/mhc/inputs.h"
#include "kernels/mhc/op_runner.h"
#include "kernels/mhc/op_spec.h"
#include "kernels/mhc/ops.h"
#include "kernels/mhc/reference.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

namespace mhc = tessera::mhc;
namespace ref = tessera::mhc::ref;
namespace inputs = tessera::mhc::inputs;
using tessera::bf16;
using tessera::DType;
using tessera::MemoryKind;
using tessera::TensorView;

namespace {

template <class T> TensorView host(std::vector<T>& v, DType t, std::vector<std::int64_t> shape) {
  return TensorView(v.data(), t, std::span<const std::int64_t>(shape), MemoryKind::host);
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

std::vector<bf16> poison_bf16(std::size_t n) {
  return std::vector<bf16>(n, bf16::from_bits(0x7fc1));
}
std::vector<float> poison_f32(std::size_t n) {
  return std::vector<float>(n, NAN);
}

mhc::Config config(std::int64_t H) {
  mhc::Config c;
  c.hidden = H;
  c.post_mult = 1.0f;
  c.split = mhc::SplitPolicy::fixed(3);
  return c;
}

} // namespace

TEST_CASE("mHC ops on host memory run on the CPU backend", "[mhc][ops][cpu_backend]") {
  if (!tessera::cpu_backend_built()) {
    WARN("built without the LLVM CPU backend: host-memory mHC ops not exercised");
    return;
  }
  for (std::int64_t H : {1000, 4096}) {
    const mhc::Config c = config(H);
    const int n = c.n(), M = c.mix_count();
    const std::int64_t T = 3;
    INFO("H = " << H);
    {
      auto in = inputs::make_post_inputs(c, T, 1);
      auto out = poison_bf16(T * n * H);
      mhc::mhc_post(c,
                    {.y = host(in.y, DType::bf16, {T, H}),
                     .residual = host(in.residual, DType::bf16, {T, n, H}),
                     .post_mix = host(in.post_mix, DType::f32, {T, n}),
                     .comb_mix = host(in.comb_mix, DType::f32, {T, n, n}),
                     .out = host(out, DType::bf16, {T, n, H})},
                    nullptr);
      check_close("post", out, ref::mhc_post(c, T, in.y, in.residual, in.post_mix, in.comb_mix),
                  5e-2, 1e-2);
    }
    {
      auto in = inputs::make_pre_inputs(c, T, 2);
      auto post = poison_f32(T * n);
      auto comb = poison_f32(T * n * n);
      auto li = poison_bf16(T * H);
      std::vector<std::uint8_t> ws(mhc::workspace_bytes(c, T, 3) + 256);
      auto* ws_ptr = reinterpret_cast<std::uint8_t*>(
          (reinterpret_cast<std::uintptr_t>(ws.data()) + 255) / 256 * 256);
      mhc::mhc_pre(c,
                   {.residual = host(in.residual, DType::bf16, {T, n, H}),
                    .fn = host(in.fn, DType::f32, {M, c.k()}),
                    .scale = host(in.scale, DType::f32, {3}),
                    .base = host(in.base, DType::f32, {M}),
                    .norm_weight = std::nullopt,
                    .post_mix = host(post, DType::f32, {T, n}),
                    .comb_mix = host(comb, DType::f32, {T, n, n}),
                    .layer_input = host(li, DType::bf16, {T, H}),
                    .workspace = TensorView(ws_ptr, DType::u8, {mhc::workspace_bytes(c, T, 3)},
                                            MemoryKind::host)},
                   nullptr);
      const auto want = ref::mhc_pre(c, T, in.residual, in.fn, in.scale, in.base, {}, 3);
      check_close("pre post_mix", post, want.post_mix, 5e-2, 1e-2);
      check_close("pre comb_mix", comb, want.comb_mix, 5e-2, 1e-2);
      check_close("pre layer_input", li, want.layer_input, 5e-2, 1e-2);
    }
    {
      auto logits = inputs::make_sinkhorn_logits(c, T, 3);
      auto out = poison_f32(T * n * n);
      mhc::sinkhorn(
          c,
          {.logits = host(logits, DType::f32, {T, n, n}), .comb = host(out, DType::f32, {T, n, n})},
          nullptr);
      check_close("sinkhorn", out, ref::sinkhorn(logits, T, n, c.sinkhorn_iters, c.hc_sinkhorn_eps),
                  1e-5, 1e-4);
    }
  }
}

TEST_CASE("every op of the OpSpec table runs its plan on the CPU backend",
          "[mhc][ops][cpu_backend]") {
  if (!tessera::cpu_backend_built()) {
    WARN("built without the LLVM CPU backend: host-memory mHC ops not exercised");
    return;
  }
  struct Case {
    mhc::Op op;
    std::int64_t T;
    bool norm;
  };
  // Both regimes of the fused op (T <= kFusedSmallT: the single-pass kernel), the fused norm,
  // and the stages alone; an H that is no multiple of the tiles.
  const Case cases[] = {
      {mhc::Op::mhc_pre, 5, false},
      {mhc::Op::mhc_pre, 2, true},
      {mhc::Op::mhc_pre_broadcast, 3, true},
      {mhc::Op::mhc_post, 4, false},
      {mhc::Op::mhc_fused_post_pre, 3, false},
      {mhc::Op::mhc_fused_post_pre, 20, true},
      {mhc::Op::hc_head, 6, false},
      {mhc::Op::sinkhorn, 9, false},
      {mhc::Op::stage_a, 4, false},
      {mhc::Op::big_fuse, 3, true},
  };
  for (const Case& k : cases) {
    mhc::Config c;
    c.hidden = 1000;
    c.split = mhc::SplitPolicy::fixed(3);
    if (k.norm) {
      c.norm_eps = 1e-5f;
    }
    const mhc::Plan plan = mhc::make_plan(
        {.op = k.op, .config = c, .tokens = k.T, .target = mhc::target_for(MemoryKind::host)});
    const mhc::OpSpec& spec = mhc::op_spec(k.op);
    const auto inputs = spec.inputs(c, k.T, plan.splits, 11);
    const auto got = mhc::run_op(plan, inputs, MemoryKind::host);
    const auto want = spec.reference(c, k.T, plan.splits, inputs);
    const auto outputs = mhc::outputs_of(spec.tensors(c, k.T, plan.splits));
    REQUIRE(got.size() == outputs.size());
    REQUIRE(want.size() == outputs.size());
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      INFO(mhc::op_name(k.op) << " T=" << k.T << (k.norm ? " norm" : "") << " output "
                              << outputs[i].name);
      CHECK(got[i].name == outputs[i].name);
      const mhc::Comparison cmp = mhc::compare(got[i], want[i], outputs[i].tolerance);
      CHECK(cmp.non_finite == 0);
      CHECK(cmp.outside == 0);
    }
  }
}

TEST_CASE("run_op refuses inputs that do not match the op", "[mhc][ops][cpu_backend]") {
  mhc::Config c;
  c.hidden = 256;
  const mhc::Plan plan = mhc::make_plan({.op = mhc::Op::mhc_post,
                                         .config = c,
                                         .tokens = 2,
                                         .target = mhc::target_for(MemoryKind::host)});
  auto inputs = mhc::op_spec(mhc::Op::mhc_post).inputs(c, 2, 1, 0);
  inputs.pop_back();
  CHECK_THROWS_WITH(mhc::run_op(plan, inputs, MemoryKind::host),
                    Catch::Contains("3 inputs given, the op takes 4"));
  inputs = mhc::op_spec(mhc::Op::mhc_post).inputs(c, 3, 1, 0); // T = 3, the plan has 2
  CHECK_THROWS_WITH(mhc::run_op(plan, inputs, MemoryKind::host),
                    Catch::Contains("input 'y'") && Catch::Contains("does not match"));
}
