#include "kernels/mhc/op_spec.h"

#include "base/error.h"
#include "kernels/mhc/inputs.h"
#include "kernels/mhc/reference.h"
#include "kernels/mhc/validate.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <fmt/format.h>

namespace tessera::mhc {

namespace {

using Shape = std::vector<std::int64_t>;

// Test tolerances of ../shared/docs/mhc-spec.md §7 (vLLM's tests), per op.
constexpr Tolerance kPreTolerance{5e-2, 1e-2};      // test_mhc_pre_tilelang
constexpr Tolerance kPostTolerance{5e-2, 1e-2};     // test_mhc_post_tilelang
constexpr Tolerance kFusedTolerance{1e-2, 1e-2};    // test_mhc_fused_post_pre
constexpr Tolerance kHeadTolerance{5e-2, 1e-2};     // test_hc_head_tilelang
constexpr Tolerance kSinkhornTolerance{1e-5, 1e-4}; // fp32 path (§7 strategy: ≈1e-5 relative)
constexpr Tolerance kExact{0, 0};                   // copies (broadcast residual_out)

/** Stage-A partials: fp32 sums that cancel, so atol scales with the tensor (TF32 ≈1e-3, fp32
 * ≈1e-5, §7 strategy). */
Tolerance partial_tolerance(const Config& c) {
  const double r = c.gemm_precision == GemmPrecision::tf32 ? 1e-3 : 1e-5;
  return {r, r, true};
}

TensorSpec in(std::string name, DType dtype, Shape shape, bool per_token = false) {
  return {std::move(name), dtype, std::move(shape), false, per_token, false, {}};
}
TensorSpec small_in(std::string name, Shape shape) {
  return {std::move(name), DType::f32, std::move(shape), false, false, true, {}};
}
TensorSpec out(std::string name, DType dtype, Shape shape, Tolerance tolerance,
               bool per_token = true) {
  return {std::move(name), dtype, std::move(shape), true, per_token, false, tolerance};
}

HostTensor f32_tensor(std::string name, Shape shape, std::vector<float> v) {
  return {std::move(name), DType::f32, std::move(shape), std::move(v), {}};
}
HostTensor bf16_tensor(std::string name, Shape shape, std::vector<bf16> v) {
  return {std::move(name), DType::bf16, std::move(shape), {}, std::move(v)};
}

std::span<const bf16> optional_b16(const Config& c, std::span<const HostTensor> in, std::size_t i) {
  return c.norm_eps ? std::span<const bf16>(in[i].b16) : std::span<const bf16>();
}

std::int64_t no_workspace(const Config&, std::int64_t, int) {
  return 0;
}
std::int64_t partials_workspace(const Config& c, std::int64_t tokens, int splits) {
  return workspace_bytes(c, tokens, splits);
}

// -- mhc_pre ------------------------------------------------------------------------------------

std::vector<TensorSpec> pre_tensors(const Config& c, std::int64_t T, int) {
  const std::int64_t H = c.hidden;
  const int n = c.n(), M = c.mix_count();
  std::vector<TensorSpec> t = {in("residual", DType::bf16, {T, n, H}, true),
                               in("fn", DType::f32, {M, c.k()}), small_in("scale", {3}),
                               small_in("base", {M})};
  if (c.norm_eps) {
    t.push_back(in("norm_weight", DType::bf16, {H}));
  }
  t.push_back(out("post_mix", DType::f32, {T, n}, kPreTolerance));
  t.push_back(out("comb_mix", DType::f32, {T, n, n}, kPreTolerance));
  t.push_back(out("layer_input", DType::bf16, {T, H}, kPreTolerance));
  return t;
}

std::vector<HostTensor> pre_inputs(const Config& c, std::int64_t T, int, std::uint64_t seed) {
  auto v = inputs::make_pre_inputs(c, T, seed);
  const std::int64_t H = c.hidden;
  const int n = c.n(), M = c.mix_count();
  std::vector<HostTensor> h = {bf16_tensor("residual", {T, n, H}, std::move(v.residual)),
                               f32_tensor("fn", {M, c.k()}, std::move(v.fn)),
                               f32_tensor("scale", {3}, std::move(v.scale)),
                               f32_tensor("base", {M}, std::move(v.base))};
  if (c.norm_eps) {
    h.push_back(bf16_tensor("norm_weight", {H}, std::move(v.norm_weight)));
  }
  return h;
}

std::vector<HostTensor> pre_outputs(const Config& c, std::int64_t T, ref::PreResult r) {
  const int n = c.n();
  return {f32_tensor("post_mix", {T, n}, std::move(r.post_mix)),
          f32_tensor("comb_mix", {T, n, n}, std::move(r.comb_mix)),
          bf16_tensor("layer_input", {T, c.hidden}, std::move(r.layer_input))};
}

std::vector<HostTensor> pre_reference(const Config& c, std::int64_t T, int S,
                                      std::span<const HostTensor> i) {
  return pre_outputs(
      c, T, ref::mhc_pre(c, T, i[0].b16, i[1].f32, i[2].f32, i[3].f32, optional_b16(c, i, 4), S));
}

// -- mhc_pre_broadcast --------------------------------------------------------------------------

std::vector<TensorSpec> broadcast_tensors(const Config& c, std::int64_t T, int) {
  const std::int64_t H = c.hidden;
  const int n = c.n(), M = c.mix_count();
  return {in("embedding", DType::bf16, {T, H}, true),
          in("fn_bcast", DType::f32, {M, H}),
          small_in("scale", {3}),
          small_in("base", {M}),
          in("norm_weight", DType::bf16, {H}),
          out("residual_out", DType::bf16, {T, n, H}, kExact),
          out("post_mix", DType::f32, {T, n}, kPreTolerance),
          out("comb_mix", DType::f32, {T, n, n}, kPreTolerance),
          out("layer_input", DType::bf16, {T, H}, kPreTolerance)};
}

std::vector<HostTensor> broadcast_inputs(const Config& c, std::int64_t T, int, std::uint64_t seed) {
  auto v = inputs::make_broadcast_inputs(c, T, seed);
  const std::int64_t H = c.hidden;
  const int M = c.mix_count();
  return {bf16_tensor("embedding", {T, H}, std::move(v.embedding)),
          f32_tensor("fn_bcast", {M, H}, std::move(v.fn_bcast)),
          f32_tensor("scale", {3}, std::move(v.scale)), f32_tensor("base", {M}, std::move(v.base)),
          bf16_tensor("norm_weight", {H}, std::move(v.norm_weight))};
}

std::vector<HostTensor> residual_pre_outputs(const Config& c, std::int64_t T,
                                             ref::ResidualPreResult r, const char* residual,
                                             const char* post, const char* comb) {
  const int n = c.n();
  return {bf16_tensor(residual, {T, n, c.hidden}, std::move(r.residual)),
          f32_tensor(post, {T, n}, std::move(r.post_mix)),
          f32_tensor(comb, {T, n, n}, std::move(r.comb_mix)),
          bf16_tensor("layer_input", {T, c.hidden}, std::move(r.layer_input))};
}

std::vector<HostTensor> broadcast_reference(const Config& c, std::int64_t T, int S,
                                            std::span<const HostTensor> i) {
  return residual_pre_outputs(
      c, T, ref::mhc_pre_broadcast(c, T, i[0].b16, i[1].f32, i[2].f32, i[3].f32, i[4].b16, S),
      "residual_out", "post_mix", "comb_mix");
}

// -- mhc_post -----------------------------------------------------------------------------------

std::vector<TensorSpec> post_tensors(const Config& c, std::int64_t T, int) {
  const std::int64_t H = c.hidden;
  const int n = c.n();
  return {in("y", DType::bf16, {T, H}, true), in("residual", DType::bf16, {T, n, H}, true),
          in("post_mix", DType::f32, {T, n}, true), in("comb_mix", DType::f32, {T, n, n}, true),
          out("out", DType::bf16, {T, n, H}, kPostTolerance)};
}

std::vector<HostTensor> post_inputs(const Config& c, std::int64_t T, int, std::uint64_t seed) {
  auto v = inputs::make_post_inputs(c, T, seed);
  const int n = c.n();
  return {bf16_tensor("y", {T, c.hidden}, std::move(v.y)),
          bf16_tensor("residual", {T, n, c.hidden}, std::move(v.residual)),
          f32_tensor("post_mix", {T, n}, std::move(v.post_mix)),
          f32_tensor("comb_mix", {T, n, n}, std::move(v.comb_mix))};
}

std::vector<HostTensor> post_reference(const Config& c, std::int64_t T, int,
                                       std::span<const HostTensor> i) {
  return {bf16_tensor("out", {T, c.n(), c.hidden},
                      ref::mhc_post(c, T, i[0].b16, i[1].b16, i[2].f32, i[3].f32))};
}

// -- mhc_fused_post_pre -------------------------------------------------------------------------

std::vector<TensorSpec> fused_tensors(const Config& c, std::int64_t T, int) {
  const std::int64_t H = c.hidden;
  const int n = c.n(), M = c.mix_count();
  std::vector<TensorSpec> t = {in("y", DType::bf16, {T, H}, true),
                               in("residual", DType::bf16, {T, n, H}, true),
                               in("post_mix", DType::f32, {T, n}, true),
                               in("comb_mix", DType::f32, {T, n, n}, true),
                               in("fn", DType::f32, {M, c.k()}),
                               small_in("scale", {3}),
                               small_in("base", {M})};
  if (c.norm_eps) {
    t.push_back(in("norm_weight", DType::bf16, {H}));
  }
  t.push_back(out("residual_out", DType::bf16, {T, n, H}, kFusedTolerance));
  t.push_back(out("post_mix_out", DType::f32, {T, n}, kFusedTolerance));
  t.push_back(out("comb_mix_out", DType::f32, {T, n, n}, kFusedTolerance));
  t.push_back(out("layer_input", DType::bf16, {T, H}, kFusedTolerance));
  return t;
}

std::vector<HostTensor> fused_inputs(const Config& c, std::int64_t T, int, std::uint64_t seed) {
  auto v = inputs::make_fused_post_pre_inputs(c, T, seed);
  const std::int64_t H = c.hidden;
  const int n = c.n(), M = c.mix_count();
  std::vector<HostTensor> h = {bf16_tensor("y", {T, H}, std::move(v.post.y)),
                               bf16_tensor("residual", {T, n, H}, std::move(v.post.residual)),
                               f32_tensor("post_mix", {T, n}, std::move(v.post.post_mix)),
                               f32_tensor("comb_mix", {T, n, n}, std::move(v.post.comb_mix)),
                               f32_tensor("fn", {M, c.k()}, std::move(v.fn)),
                               f32_tensor("scale", {3}, std::move(v.scale)),
                               f32_tensor("base", {M}, std::move(v.base))};
  if (c.norm_eps) {
    h.push_back(bf16_tensor("norm_weight", {H}, std::move(v.norm_weight)));
  }
  return h;
}

std::vector<HostTensor> fused_reference(const Config& c, std::int64_t T, int S,
                                        std::span<const HostTensor> i) {
  const std::span<const bf16> w = optional_b16(c, i, 7);
  // The single-pass kernel (T <= kFusedSmallT) has its own numerics (reference.h).
  auto r = T <= kFusedSmallT
               ? ref::mhc_fused_post_pre_single_pass(c, T, i[0].b16, i[1].b16, i[2].f32, i[3].f32,
                                                     i[4].f32, i[5].f32, i[6].f32, w, S)
               : ref::mhc_fused_post_pre(c, T, i[0].b16, i[1].b16, i[2].f32, i[3].f32, i[4].f32,
                                         i[5].f32, i[6].f32, w, S);
  return residual_pre_outputs(c, T, std::move(r), "residual_out", "post_mix_out", "comb_mix_out");
}

// -- hc_head ------------------------------------------------------------------------------------

std::vector<TensorSpec> head_tensors(const Config& c, std::int64_t T, int) {
  const int n = c.n();
  return {in("residual", DType::bf16, {T, n, c.hidden}, true), in("fn", DType::f32, {n, c.k()}),
          small_in("scale", {1}), small_in("base", {n}),
          out("out", DType::bf16, {T, c.hidden}, kHeadTolerance)};
}

std::vector<HostTensor> head_inputs(const Config& c, std::int64_t T, int, std::uint64_t seed) {
  auto v = inputs::make_head_inputs(c, T, seed);
  const int n = c.n();
  return {bf16_tensor("residual", {T, n, c.hidden}, std::move(v.residual)),
          f32_tensor("fn", {n, c.k()}, std::move(v.fn)),
          f32_tensor("scale", {1}, std::move(v.scale)), f32_tensor("base", {n}, std::move(v.base))};
}

std::vector<HostTensor> head_reference(const Config& c, std::int64_t T, int,
                                       std::span<const HostTensor> i) {
  return {bf16_tensor("out", {T, c.hidden},
                      ref::hc_head(c, T, i[0].b16, i[1].f32, i[2].f32, i[3].f32))};
}

// -- sinkhorn -----------------------------------------------------------------------------------

std::vector<TensorSpec> sinkhorn_tensors(const Config& c, std::int64_t T, int) {
  const int n = c.n();
  return {in("logits", DType::f32, {T, n, n}, true),
          out("comb", DType::f32, {T, n, n}, kSinkhornTolerance)};
}

std::vector<HostTensor> sinkhorn_inputs(const Config& c, std::int64_t T, int, std::uint64_t seed) {
  const int n = c.n();
  return {f32_tensor("logits", {T, n, n}, inputs::make_sinkhorn_logits(c, T, seed))};
}

std::vector<HostTensor> sinkhorn_reference(const Config& c, std::int64_t T, int,
                                           std::span<const HostTensor> i) {
  const int n = c.n();
  return {f32_tensor("comb", {T, n, n},
                     ref::sinkhorn(i[0].f32, T, n, c.sinkhorn_iters, c.hc_sinkhorn_eps))};
}

// -- stage_a ------------------------------------------------------------------------------------

std::vector<TensorSpec> stage_a_tensors(const Config& c, std::int64_t T, int S) {
  const int M = c.mix_count();
  return {in("x", DType::bf16, {T, c.k()}, true), in("fn", DType::f32, {M, c.k()}),
          out("partial_mix", DType::f32, {S, T, M}, partial_tolerance(c), false),
          out("partial_sqrsum", DType::f32, {S, T}, partial_tolerance(c), false)};
}

std::vector<HostTensor> stage_a_inputs(const Config& c, std::int64_t T, int, std::uint64_t seed) {
  auto v = inputs::make_pre_inputs(c, T, seed); // x is the flattened residual
  return {bf16_tensor("x", {T, c.k()}, std::move(v.residual)),
          f32_tensor("fn", {c.mix_count(), c.k()}, std::move(v.fn))};
}

std::vector<HostTensor> stage_a_reference(const Config& c, std::int64_t T, int S,
                                          std::span<const HostTensor> i) {
  const int M = c.mix_count();
  auto r = ref::stage_a(i[0].b16, i[1].f32, T, c.k(), M, S, c.gemm_precision);
  return {f32_tensor("partial_mix", {S, T, M}, std::move(r.mix)),
          f32_tensor("partial_sqrsum", {S, T}, std::move(r.sqrsum))};
}

// -- big_fuse -----------------------------------------------------------------------------------

std::vector<TensorSpec> big_fuse_tensors(const Config& c, std::int64_t T, int S) {
  const std::int64_t H = c.hidden;
  const int n = c.n(), M = c.mix_count();
  std::vector<TensorSpec> t = {in("partial_mix", DType::f32, {S, T, M}),
                               in("partial_sqrsum", DType::f32, {S, T}), small_in("scale", {3}),
                               small_in("base", {M}), in("residual", DType::bf16, {T, n, H}, true)};
  if (c.norm_eps) {
    t.push_back(in("norm_weight", DType::bf16, {H}));
  }
  t.push_back(out("post_mix", DType::f32, {T, n}, kPreTolerance));
  t.push_back(out("comb_mix", DType::f32, {T, n, n}, kPreTolerance));
  t.push_back(out("layer_input", DType::bf16, {T, H}, kPreTolerance));
  return t;
}

std::vector<HostTensor> big_fuse_inputs(const Config& c, std::int64_t T, int S,
                                        std::uint64_t seed) {
  // The partials of stage A (reference) on the spec's pre inputs.
  auto v = inputs::make_pre_inputs(c, T, seed);
  const int n = c.n(), M = c.mix_count();
  auto a = ref::stage_a(v.residual, v.fn, T, c.k(), M, S, c.gemm_precision);
  std::vector<HostTensor> h = {f32_tensor("partial_mix", {S, T, M}, std::move(a.mix)),
                               f32_tensor("partial_sqrsum", {S, T}, std::move(a.sqrsum)),
                               f32_tensor("scale", {3}, std::move(v.scale)),
                               f32_tensor("base", {M}, std::move(v.base)),
                               bf16_tensor("residual", {T, n, c.hidden}, std::move(v.residual))};
  if (c.norm_eps) {
    h.push_back(bf16_tensor("norm_weight", {c.hidden}, std::move(v.norm_weight)));
  }
  return h;
}

std::vector<HostTensor> big_fuse_reference(const Config& c, std::int64_t T, int S,
                                           std::span<const HostTensor> i) {
  return pre_outputs(c, T,
                     ref::big_fuse(c, T, S, i[0].f32, i[1].f32, i[2].f32, i[3].f32, i[4].b16,
                                   optional_b16(c, i, 5)));
}

// -- The table ----------------------------------------------------------------------------------

constexpr std::array<Op, 8> kOps = {
    Op::mhc_pre, Op::mhc_pre_broadcast, Op::mhc_post, Op::mhc_fused_post_pre,
    Op::hc_head, Op::sinkhorn,          Op::stage_a,  Op::big_fuse};

const std::array<OpSpec, 8> kSpecs = {{
    {Op::mhc_pre, pre_tensors, partials_workspace, pre_inputs, pre_reference},
    {Op::mhc_pre_broadcast, broadcast_tensors, partials_workspace, broadcast_inputs,
     broadcast_reference},
    {Op::mhc_post, post_tensors, no_workspace, post_inputs, post_reference},
    {Op::mhc_fused_post_pre, fused_tensors, partials_workspace, fused_inputs, fused_reference},
    {Op::hc_head, head_tensors, partials_workspace, head_inputs, head_reference},
    {Op::sinkhorn, sinkhorn_tensors, no_workspace, sinkhorn_inputs, sinkhorn_reference},
    {Op::stage_a, stage_a_tensors, no_workspace, stage_a_inputs, stage_a_reference},
    {Op::big_fuse, big_fuse_tensors, no_workspace, big_fuse_inputs, big_fuse_reference},
}};

} // namespace

const char* op_name(Op op) {
  switch (op) {
  case Op::mhc_pre:
    return "mhc_pre";
  case Op::mhc_pre_broadcast:
    return "mhc_pre_broadcast";
  case Op::mhc_post:
    return "mhc_post";
  case Op::mhc_fused_post_pre:
    return "mhc_fused_post_pre";
  case Op::hc_head:
    return "hc_head";
  case Op::sinkhorn:
    return "sinkhorn";
  case Op::stage_a:
    return "stage_a";
  case Op::big_fuse:
    return "big_fuse";
  }
  return "?";
}

std::span<const Op> all_ops() {
  return kOps;
}

Op parse_op(std::string_view name) {
  for (Op op : kOps) {
    if (name == op_name(op)) {
      return op;
    }
  }
  std::string names;
  for (Op op : kOps) {
    names += names.empty() ? "" : ", ";
    names += op_name(op);
  }
  throw UserError(fmt::format("unknown mHC op '{}'; expected one of: {}", name, names));
}

const OpSpec& op_spec(Op op) {
  for (const OpSpec& s : kSpecs) {
    if (s.op == op) {
      return s;
    }
  }
  throw InternalError(fmt::format("mhc::op_spec: no spec for op {}", static_cast<int>(op)));
}

std::int64_t TensorSpec::numel() const {
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    n *= d;
  }
  return n;
}

std::int64_t TensorSpec::bytes() const {
  return numel() * static_cast<std::int64_t>(dtype_size(dtype));
}

std::int64_t HostTensor::numel() const {
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    n *= d;
  }
  return n;
}

std::size_t HostTensor::bytes() const {
  return dtype == DType::f32 ? f32.size() * sizeof(float) : b16.size() * sizeof(bf16);
}

const void* HostTensor::data() const {
  return dtype == DType::f32 ? static_cast<const void*>(f32.data()) : b16.data();
}

void* HostTensor::data() {
  return dtype == DType::f32 ? static_cast<void*>(f32.data()) : b16.data();
}

double HostTensor::value(std::int64_t i) const {
  return dtype == DType::f32 ? f32[i] : static_cast<float>(b16[i]);
}

HostTensor HostTensor::zeros(const TensorSpec& spec) {
  if (spec.dtype != DType::f32 && spec.dtype != DType::bf16) {
    throw InternalError(fmt::format("HostTensor: {} is {}; only f32 and bf16 are held", spec.name,
                                    dtype_name(spec.dtype)));
  }
  HostTensor t{spec.name, spec.dtype, spec.shape, {}, {}};
  if (spec.dtype == DType::f32) {
    t.f32.assign(spec.numel(), 0.0f);
  } else {
    t.b16.assign(spec.numel(), bf16(0.0f));
  }
  return t;
}

std::vector<TensorSpec> inputs_of(const std::vector<TensorSpec>& tensors) {
  std::vector<TensorSpec> v;
  std::copy_if(tensors.begin(), tensors.end(), std::back_inserter(v),
               [](const TensorSpec& t) { return !t.output; });
  return v;
}

std::vector<TensorSpec> outputs_of(const std::vector<TensorSpec>& tensors) {
  std::vector<TensorSpec> v;
  std::copy_if(tensors.begin(), tensors.end(), std::back_inserter(v),
               [](const TensorSpec& t) { return t.output; });
  return v;
}

std::int64_t traffic_bytes(const std::vector<TensorSpec>& tensors) {
  std::int64_t bytes = 0;
  for (const TensorSpec& t : tensors) {
    bytes += t.small ? 0 : t.bytes();
  }
  return bytes;
}

Tolerance dtype_tolerance(DType dtype) {
  return dtype == DType::bf16 ? Tolerance{1.6e-2, 1e-2} : Tolerance{1e-3, 1e-3};
}

Comparison compare(const HostTensor& got, const HostTensor& want, Tolerance tolerance) {
  if (got.numel() != want.numel()) {
    throw UserError(fmt::format("compare {}: {} elements against {} in the reference", got.name,
                                got.numel(), want.numel()));
  }
  double atol = tolerance.atol;
  if (tolerance.atol_scaled) {
    double scale = 0;
    for (std::int64_t i = 0; i < want.numel(); ++i) {
      scale = std::max(scale, std::abs(want.value(i)));
    }
    atol *= scale;
  }
  Comparison c;
  for (std::int64_t i = 0; i < got.numel(); ++i) {
    const double g = got.value(i), w = want.value(i);
    // A NaN on either side fails: |g - NaN| > tol is false, so it would otherwise pass.
    if (!std::isfinite(g) || !std::isfinite(w)) {
      ++c.non_finite;
      continue;
    }
    const double e = std::abs(g - w);
    c.outside += e > atol + tolerance.rtol * std::abs(w) ? 1 : 0;
    c.max_abs = std::max(c.max_abs, e);
    c.max_rel = std::max(c.max_rel, e / std::max(std::abs(w), 1e-12));
  }
  return c;
}

} // namespace tessera::mhc
