// The OpSpec table (kernels/mhc/op_spec.h) without kernels: every op has a spec whose inputs and
// reference agree with its tensor signature, the bytes an op moves are the peer benchmark's, and
// compare() counts what it should.
#include "base/error.h"
#include "kernels/mhc/op_spec.h"
#include "kernels/mhc/reference.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <random>
#include <set>

namespace mhc = tessera::mhc;
using mhc::Op;
using tessera::bf16;
using tessera::DType;

namespace {

mhc::Config config(std::int64_t H, bool norm) {
  mhc::Config c;
  c.hidden = H;
  if (norm) {
    c.norm_eps = 1e-6f;
  }
  return c;
}

} // namespace

TEST_CASE("op names round-trip and unknown names are refused", "[mhc][spec]") {
  std::set<std::string> names;
  for (Op op : mhc::all_ops()) {
    CHECK(mhc::parse_op(mhc::op_name(op)) == op);
    CHECK(mhc::op_spec(op).op == op);
    names.insert(mhc::op_name(op));
  }
  CHECK(names.size() == 8);
  CHECK_THROWS_WITH(mhc::parse_op("mhc_prez"),
                    Catch::Contains("unknown mHC op 'mhc_prez'") && Catch::Contains("hc_head"));
}

TEST_CASE("inputs and references follow each op's signature", "[mhc][spec]") {
  for (Op op : mhc::all_ops()) {
    for (bool norm : {false, true}) {
      const mhc::Config c = config(300, norm || op == Op::mhc_pre_broadcast);
      const std::int64_t T = 3;
      const int S = 2;
      INFO(mhc::op_name(op) << (c.norm_eps ? " norm" : ""));
      const mhc::OpSpec& spec = mhc::op_spec(op);
      const auto tensors = spec.tensors(c, T, S);
      const auto ins = mhc::inputs_of(tensors);
      const auto outs = mhc::outputs_of(tensors);
      REQUIRE(ins.size() + outs.size() == tensors.size());
      REQUIRE_FALSE(outs.empty());
      // Inputs come first, names are unique, norm_weight appears iff the norm is on.
      std::set<std::string> names;
      bool has_norm_weight = false;
      for (std::size_t i = 0; i < tensors.size(); ++i) {
        CHECK(tensors[i].output == (i >= ins.size()));
        CHECK(names.insert(tensors[i].name).second);
        has_norm_weight |= tensors[i].name == "norm_weight";
        CHECK(tensors[i].numel() > 0);
        if (tensors[i].per_token) {
          CHECK(tensors[i].shape[0] == T);
        }
      }
      CHECK(has_norm_weight == (c.norm_eps.has_value() && op != Op::mhc_post && op != Op::hc_head &&
                                op != Op::sinkhorn && op != Op::stage_a));
      const auto values = spec.inputs(c, T, S, 5);
      REQUIRE(values.size() == ins.size());
      for (std::size_t i = 0; i < ins.size(); ++i) {
        CHECK(values[i].name == ins[i].name);
        CHECK(values[i].dtype == ins[i].dtype);
        CHECK(values[i].shape == ins[i].shape);
        CHECK(static_cast<std::int64_t>(values[i].bytes()) == ins[i].bytes());
      }
      const auto want = spec.reference(c, T, S, values);
      REQUIRE(want.size() == outs.size());
      for (std::size_t i = 0; i < outs.size(); ++i) {
        CHECK(want[i].name == outs[i].name);
        CHECK(want[i].dtype == outs[i].dtype);
        CHECK(want[i].shape == outs[i].shape);
        CHECK(want[i].numel() == outs[i].numel());
        for (std::int64_t e = 0; e < want[i].numel(); ++e) {
          REQUIRE(std::isfinite(want[i].value(e)));
        }
      }
      // The seed changes the inputs.
      const auto other = spec.inputs(c, T, S, 6);
      CHECK(other[0].bytes() == values[0].bytes());
      CHECK(std::memcmp(other[0].data(), values[0].data(), values[0].bytes()) != 0);
    }
  }
}

TEST_CASE("the reference of the fused op follows the kernel regime", "[mhc][spec]") {
  const mhc::Config c = config(512, false);
  const mhc::OpSpec& spec = mhc::op_spec(Op::mhc_fused_post_pre);
  for (std::int64_t T : {mhc::kFusedSmallT, mhc::kFusedSmallT + 1}) {
    const auto in = spec.inputs(c, T, 4, 1);
    const auto got = spec.reference(c, T, 4, in);
    const auto single = mhc::ref::mhc_fused_post_pre_single_pass(
        c, T, in[0].b16, in[1].b16, in[2].f32, in[3].f32, in[4].f32, in[5].f32, in[6].f32, {}, 4);
    const auto two_pass = mhc::ref::mhc_fused_post_pre(
        c, T, in[0].b16, in[1].b16, in[2].f32, in[3].f32, in[4].f32, in[5].f32, in[6].f32, {}, 4);
    const auto& expected = T <= mhc::kFusedSmallT ? single : two_pass;
    CHECK(got[2].f32 == expected.comb_mix);
    CHECK(got[1].f32 == expected.post_mix);
  }
}

TEST_CASE("traffic bytes are the peer benchmark's", "[mhc][spec]") {
  // ../shared/peer/torch_mhc.py and bench/torch_mhc_ext.py: every tensor but scale and base.
  for (std::int64_t H : {4096, 7168}) {
    for (std::int64_t T : {1, 128, 4096}) {
      const mhc::Config c = config(H, false);
      const double K = 4.0 * H, M3 = 24, N = 4;
      const double mixes = T * (N + N * N) * 4;
      auto bytes = [&](Op op) { return mhc::traffic_bytes(mhc::op_spec(op).tensors(c, T, 1)); };
      CHECK(bytes(Op::mhc_pre) == T * K * 2 + M3 * K * 4 + T * H * 2 + mixes);
      CHECK(bytes(Op::mhc_post) == T * H * 2 + T * K * 2 * 2 + mixes);
      CHECK(bytes(Op::mhc_fused_post_pre) ==
            T * H * 2 + T * K * 2 + mixes + M3 * K * 4 + T * K * 2 + mixes + T * H * 2);
      CHECK(bytes(Op::hc_head) == T * K * 2 + N * K * 4 + T * H * 2);
      CHECK(bytes(Op::sinkhorn) == 2 * T * N * N * 4);
    }
  }
}

TEST_CASE("compare counts elements outside the tolerance and non-finite ones", "[mhc][spec]") {
  std::mt19937 rng(3);
  std::normal_distribution<float> d(0.0f, 1.0f);
  mhc::HostTensor want{"t", DType::f32, {1000}, {}, {}};
  for (int i = 0; i < 1000; ++i) {
    want.f32.push_back(d(rng));
  }
  mhc::HostTensor got = want;
  CHECK(mhc::compare(got, want, {0, 0}).ok());
  got.f32[10] += 0.5f;  // outside 1e-2 + 1e-2·|w| unless |w| is huge
  got.f32[20] = NAN;    // poison left behind
  got.f32[30] += 1e-4f; // inside
  const mhc::Comparison c = mhc::compare(got, want, {1e-2, 1e-2});
  CHECK(c.outside == 1);
  CHECK(c.non_finite == 1);
  CHECK_FALSE(c.ok());
  CHECK(c.max_abs == Approx(0.5).epsilon(1e-3));
  // A NaN in the reference fails too (|g - NaN| > tol is false: it used to pass).
  mhc::HostTensor bad_reference = want;
  bad_reference.f32[40] = NAN;
  const mhc::Comparison r = mhc::compare(want, bad_reference, {1e-2, 1e-2});
  CHECK(r.non_finite == 1);
  CHECK_FALSE(r.ok());
  // A scaled atol grows with the largest |want|.
  got = want;
  for (float& v : got.f32) {
    v += 0.05f;
  }
  double scale = 0;
  for (float v : want.f32) {
    scale = std::max(scale, std::abs(static_cast<double>(v)));
  }
  CHECK_FALSE(mhc::compare(got, want, {0.01, 0}).ok());
  CHECK(mhc::compare(got, want, {0.06 / scale, 0, true}).ok());
  // bf16 values compare as floats; sizes must match.
  mhc::HostTensor b{"b", DType::bf16, {2}, {}, {bf16(1.0f), bf16(2.0f)}};
  mhc::HostTensor b2 = b;
  b2.b16[1] = bf16(2.015625f); // one bf16 ulp above 2
  CHECK(mhc::compare(b2, b, mhc::dtype_tolerance(DType::bf16)).ok());
  CHECK_FALSE(mhc::compare(b2, b, {0, 0}).ok());
  CHECK_THROWS_AS(mhc::compare(b, want, {}), tessera::UserError);
}
