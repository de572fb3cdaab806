// The mHC host API on host memory: the same DSL kernels through the CPU backend (LLVM), against
// the fp64 references with the vLLM tolerances. Needs a build with TESSERA_ENABLE_LLVM.
#include "jit/target.h"
#include "kernels/mhc/inputs.h"
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
