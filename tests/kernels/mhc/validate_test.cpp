#include "base/error.h"
#include "kernels/mhc/validate.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

using namespace tessera;
using namespace tessera::mhc;

namespace {

/** Hands out disjoint, 256-byte aligned fake device addresses (validation never dereferences). */
struct FakeMemory {
  std::uintptr_t next = 0x100000;
  TensorView view(DType dtype, std::initializer_list<std::int64_t> shape,
                  MemoryKind memory = MemoryKind::cuda) {
    TensorView v(reinterpret_cast<void*>(next), dtype, shape, memory);
    next += (static_cast<std::uintptr_t>(v.nbytes()) + 511) / 256 * 256;
    return v;
  }
};

constexpr std::int64_t kT = 5, kN = 4, kH = 64, kM3 = 24;

Config config() {
  Config c;
  c.hidden = kH;
  return c;
}

PreArgs pre_args(FakeMemory& m, const Config& c, int splits, std::int64_t t = kT) {
  PreArgs a;
  a.residual = m.view(DType::bf16, {t, kN, kH});
  a.fn = m.view(DType::f32, {kM3, kN * kH});
  a.scale = m.view(DType::f32, {3});
  a.base = m.view(DType::f32, {kM3});
  if (c.norm_eps) {
    a.norm_weight = m.view(DType::bf16, {kH});
  }
  a.post_mix = m.view(DType::f32, {t, kN});
  a.comb_mix = m.view(DType::f32, {t, kN, kN});
  a.layer_input = m.view(DType::bf16, {t, kH});
  a.workspace = m.view(DType::u8, {workspace_bytes(c, t, splits)});
  return a;
}

/** Runs `fn`, requires a UserError, and checks every fragment appears in its message. */
template <typename F> void require_error(F&& fn, std::initializer_list<std::string> fragments) {
  try {
    fn();
    FAIL("no UserError thrown");
  } catch (const UserError& e) {
    const std::string msg = e.what();
    INFO("message: " << msg);
    for (const auto& f : fragments) {
      CHECK_THAT(msg, Catch::Contains(f));
    }
  }
}

} // namespace

TEST_CASE("workspace layout", "[mhc][validate]") {
  const Config c = config();
  const auto l = workspace_layout(c, 5, 3);
  CHECK(l.mix_offset == 0);
  CHECK(l.mix_bytes == 3 * 5 * 24 * 4);
  CHECK(l.sqrsum_offset == 1536); // 1440 rounded up to 256
  CHECK(l.sqrsum_bytes == 3 * 5 * 4);
  CHECK(l.total_bytes == 1792);
  CHECK(workspace_bytes(c, 0, 16) == 0);
  CHECK_THROWS_AS(workspace_bytes(c, -1, 1), UserError);
  CHECK_THROWS_AS(workspace_bytes(c, 1, 0), UserError);
}

TEST_CASE("valid arguments pass for every op", "[mhc][validate]") {
  FakeMemory m;
  Config c = config();
  CHECK(validate_pre(c, pre_args(m, c, 4), 4) == kT);
  c.norm_eps = 1e-6f;
  CHECK(validate_pre(c, pre_args(m, c, 1), 1) == kT);
  // Accepted alternative forms of post_mix / comb_mix.
  PreArgs a = pre_args(m, c, 1);
  a.post_mix = m.view(DType::f32, {kT, kN, 1});
  a.comb_mix = m.view(DType::f32, {kT, kN * kN});
  CHECK_NOTHROW(validate_pre(c, a, 1));
  // Host tensors for the CPU backend.
  PreArgs h;
  h.residual = m.view(DType::bf16, {kT, kN, kH}, MemoryKind::host);
  h.fn = m.view(DType::f32, {kM3, kN * kH}, MemoryKind::host);
  h.scale = m.view(DType::f32, {3}, MemoryKind::host);
  h.base = m.view(DType::f32, {kM3}, MemoryKind::host);
  h.norm_weight = m.view(DType::bf16, {kH}, MemoryKind::host);
  h.post_mix = m.view(DType::f32, {kT, kN}, MemoryKind::host);
  h.comb_mix = m.view(DType::f32, {kT, kN, kN}, MemoryKind::host);
  h.layer_input = m.view(DType::bf16, {kT, kH}, MemoryKind::host);
  h.workspace = m.view(DType::u8, {workspace_bytes(c, kT, 2)}, MemoryKind::host);
  CHECK_NOTHROW(validate_pre(c, h, 2, MemoryKind::host));

  PreBroadcastArgs b{
      m.view(DType::bf16, {kT, kH}), m.view(DType::f32, {kM3, kH}),
      m.view(DType::f32, {3}),       m.view(DType::f32, {kM3}),
      m.view(DType::bf16, {kH}),     m.view(DType::bf16, {kT, kN, kH}),
      m.view(DType::f32, {kT, kN}),  m.view(DType::f32, {kT, kN, kN}),
      m.view(DType::bf16, {kT, kH}), m.view(DType::u8, {workspace_bytes(c, kT, 16)})};
  CHECK(validate_pre_broadcast(c, b, 16) == kT);

  Config plain = config();
  PostArgs p{m.view(DType::bf16, {kT, kH}), m.view(DType::bf16, {kT, kN, kH}),
             m.view(DType::f32, {kT, kN}), m.view(DType::f32, {kT, kN, kN}),
             m.view(DType::bf16, {kT, kN, kH})};
  CHECK(validate_post(plain, p) == kT);

  FusedPostPreArgs f{m.view(DType::bf16, {kT, kH}),
                     m.view(DType::bf16, {kT, kN, kH}),
                     m.view(DType::f32, {kT, kN, 1}),
                     m.view(DType::f32, {kT, kN, kN}),
                     m.view(DType::f32, {kM3, kN * kH}),
                     m.view(DType::f32, {3}),
                     m.view(DType::f32, {kM3}),
                     std::nullopt,
                     m.view(DType::bf16, {kT, kN, kH}),
                     m.view(DType::f32, {kT, kN}),
                     m.view(DType::f32, {kT, kN, kN}),
                     m.view(DType::bf16, {kT, kH}),
                     m.view(DType::u8, {workspace_bytes(plain, kT, 8)})};
  CHECK(validate_fused_post_pre(plain, f, 8) == kT);

  HeadArgs hd{m.view(DType::bf16, {kT, kN, kH}), m.view(DType::f32, {kN, kN * kH}),
              m.view(DType::f32, {1}), m.view(DType::f32, {kN}), m.view(DType::bf16, {kT, kH})};
  CHECK(validate_head(plain, hd) == kT);

  SinkhornArgs s{m.view(DType::f32, {kT, kN, kN}), m.view(DType::f32, {kT, kN, kN})};
  CHECK(validate_sinkhorn(plain, s) == kT);

  StageAArgs sa{m.view(DType::bf16, {kT, kN * kH}), m.view(DType::f32, {kM3, kN * kH}),
                m.view(DType::f32, {3, kT, kM3}), m.view(DType::f32, {3, kT})};
  CHECK(validate_stage_a(plain, sa, kN * kH, 3) == kT);
  StageAArgs sb{m.view(DType::bf16, {kT, kH}), m.view(DType::f32, {kM3, kH}),
                m.view(DType::f32, {2, kT, kM3}), m.view(DType::f32, {2, kT})};
  CHECK(validate_stage_a(plain, sb, kH, 2) == kT);

  BigFuseArgs bf{m.view(DType::f32, {2, kT, kM3}),  m.view(DType::f32, {2, kT}),
                 m.view(DType::f32, {3}),           m.view(DType::f32, {kM3}),
                 m.view(DType::bf16, {kT, kN, kH}), std::nullopt,
                 m.view(DType::f32, {kT, kN}),      m.view(DType::f32, {kT, kN, kN}),
                 m.view(DType::bf16, {kT, kH})};
  CHECK(validate_big_fuse(plain, bf, 2) == kT);
}

TEST_CASE("T = 0 is valid, with null pointers and no workspace", "[mhc][validate]") {
  FakeMemory m;
  const Config c = config();
  PreArgs a = pre_args(m, c, 4, 0);
  a.residual = TensorView(nullptr, DType::bf16, {0, kN, kH});
  a.post_mix = TensorView(nullptr, DType::f32, {0, kN});
  a.comb_mix = TensorView(nullptr, DType::f32, {0, kN, kN});
  a.layer_input = TensorView(nullptr, DType::bf16, {0, kH});
  a.workspace = TensorView();
  CHECK(validate_pre(c, a, 4) == 0);
  PostArgs p{TensorView(nullptr, DType::bf16, {0, kH}),
             TensorView(nullptr, DType::bf16, {0, kN, kH}),
             TensorView(nullptr, DType::f32, {0, kN}), TensorView(nullptr, DType::f32, {0, kN, kN}),
             TensorView(nullptr, DType::bf16, {0, kN, kH})};
  CHECK(validate_post(c, p) == 0);
}

TEST_CASE("validation error: wrong dtype", "[mhc][validate]") {
  FakeMemory m;
  const Config c = config();
  PreArgs a = pre_args(m, c, 1);
  a.residual = m.view(DType::f32, {kT, kN, kH});
  require_error([&] { validate_pre(c, a, 1); },
                {"mhc_pre: argument 'residual': has the wrong dtype", "expected bf16[5, 4, 64]",
                 "got f32[5, 4, 64] strides [256, 64, 1] cuda:0"});
}

TEST_CASE("validation error: wrong rank of the token-defining tensor", "[mhc][validate]") {
  FakeMemory m;
  const Config c = config();
  PostArgs p{m.view(DType::bf16, {kT, 1, kH}), m.view(DType::bf16, {kT, kN, kH}),
             m.view(DType::f32, {kT, kN}), m.view(DType::f32, {kT, kN, kN}),
             m.view(DType::bf16, {kT, kN, kH})};
  require_error([&] { validate_post(c, p); }, {"mhc_post: argument 'y': has the wrong rank",
                                               "expected bf16[T, 64]", "got bf16[5, 1, 64]"});
}

TEST_CASE("validation error: inconsistent token count", "[mhc][validate]") {
  FakeMemory m;
  const Config c = config();
  PreArgs a = pre_args(m, c, 1);
  a.layer_input = m.view(DType::bf16, {kT + 1, kH});
  require_error([&] { validate_pre(c, a, 1); },
                {"mhc_pre: argument 'layer_input': has the wrong shape",
                 "expected bf16[5, 64] (T = 5 from 'residual')", "got bf16[6, 64]"});
}

TEST_CASE("validation error: hidden size or stream count mismatch", "[mhc][validate]") {
  FakeMemory m;
  const Config c = config();
  PreArgs a = pre_args(m, c, 1);
  a.fn = m.view(DType::f32, {kM3, kH});
  require_error([&] { validate_pre(c, a, 1); }, {"mhc_pre: argument 'fn': has the wrong shape",
                                                 "expected f32[24, 256]", "got f32[24, 64]"});
  a = pre_args(m, c, 1);
  a.comb_mix = m.view(DType::f32, {kT, 3, 3});
  require_error([&] { validate_pre(c, a, 1); },
                {"argument 'comb_mix': has the wrong shape", "expected f32[5, 4, 4] or f32[5, 16]",
                 "got f32[5, 3, 3]"});
  a = pre_args(m, c, 1);
  a.base = m.view(DType::f32, {32});
  require_error([&] { validate_pre(c, a, 1); },
                {"argument 'base': has the wrong shape; expected f32[24], got f32[32]"});
}

TEST_CASE("validation error: non-contiguous tensor", "[mhc][validate]") {
  FakeMemory m;
  const Config c = config();
  PreArgs a = pre_args(m, c, 1);
  const std::int64_t shape[] = {kT, kN, kH};
  const std::int64_t strides[] = {kN * kH * 2, kH * 2, 1}; // every other row of a bigger buffer
  a.residual =
      TensorView(m.view(DType::bf16, {kT, kN, 2 * kH}).data(), DType::bf16, shape, strides);
  require_error([&] { validate_pre(c, a, 1); },
                {"mhc_pre: argument 'residual': is not contiguous",
                 "expected a contiguous (row-major) tensor", "strides [512, 128, 1]"});
}

TEST_CASE("validation error: wrong memory kind or device", "[mhc][validate]") {
  FakeMemory m;
  const Config c = config();
  PreArgs a = pre_args(m, c, 1);
  a.scale = m.view(DType::f32, {3}, MemoryKind::host);
  require_error([&] { validate_pre(c, a, 1); },
                {"mhc_pre: argument 'scale': is in host memory", "expected cuda memory",
                 "got f32[3] strides [1] host:0"});
  a = pre_args(m, c, 1);
  a.base = TensorView(a.base.data(), DType::f32, {kM3}, MemoryKind::cuda, 1);
  require_error([&] { validate_pre(c, a, 1); }, {"argument 'base': is on another device",
                                                 "expected device 0 (like 'residual')", "cuda:1"});
}

TEST_CASE("validation error: null pointer", "[mhc][validate]") {
  FakeMemory m;
  const Config c = config();
  PreArgs a = pre_args(m, c, 1);
  a.post_mix = TensorView(nullptr, DType::f32, {kT, kN});
  require_error([&] { validate_pre(c, a, 1); }, {"mhc_pre: argument 'post_mix': is a null pointer",
                                                 "only empty tensors may be null"});
}

TEST_CASE("validation error: misaligned bf16 and fn pointers", "[mhc][validate]") {
  FakeMemory m;
  const Config c = config();
  PreArgs a = pre_args(m, c, 1);
  a.layer_input = TensorView(static_cast<char*>(a.layer_input.data()) + 2, DType::bf16, {kT, kH});
  require_error([&] { validate_pre(c, a, 1); }, {"mhc_pre: argument 'layer_input': is misaligned",
                                                 "expected a 16-byte aligned data pointer"});
  a = pre_args(m, c, 1);
  a.fn = TensorView(static_cast<char*>(a.fn.data()) + 4, DType::f32, {kM3, kN * kH});
  require_error([&] { validate_pre(c, a, 1); },
                {"argument 'fn': is misaligned", "16-byte aligned"});
  // fp32 activations only need 4-byte alignment.
  a = pre_args(m, c, 1);
  a.post_mix = TensorView(static_cast<char*>(a.post_mix.data()) + 4, DType::f32, {kT, kN});
  CHECK_NOTHROW(validate_pre(c, a, 1));
}

TEST_CASE("validation error: norm weight missing or unexpected", "[mhc][validate]") {
  FakeMemory m;
  Config c = config();
  c.norm_eps = 1e-6f;
  PreArgs a = pre_args(m, c, 1);
  a.norm_weight.reset();
  require_error(
      [&] { validate_pre(c, a, 1); },
      {"mhc_pre: argument 'norm_weight': missing; expected bf16[64]", "config.norm_eps is set"});
  Config plain = config();
  PreArgs b = pre_args(m, plain, 1);
  b.norm_weight = m.view(DType::bf16, {kH});
  require_error([&] { validate_pre(plain, b, 1); },
                {"argument 'norm_weight': given, but config.norm_eps is not set"});
  PreBroadcastArgs bc{};
  require_error([&] { validate_pre_broadcast(plain, bc, 1); },
                {"mhc_pre_broadcast: config.norm_eps is not set"});
}

TEST_CASE("validation error: workspace too small", "[mhc][validate]") {
  FakeMemory m;
  const Config c = config();
  PreArgs a = pre_args(m, c, 2);
  require_error([&] { validate_pre(c, a, 16); },
                {"mhc_pre: argument 'workspace': is too small (1280 bytes)",
                 "expected a contiguous cuda buffer of >= 8192 bytes", "splits = 16"});
  a.workspace = TensorView();
  require_error([&] { validate_pre(c, a, 2); }, {"argument 'workspace'"});
}

TEST_CASE("validation error: output overlaps an input", "[mhc][validate]") {
  FakeMemory m;
  const Config c = config();
  PostArgs p{m.view(DType::bf16, {kT, kH}), m.view(DType::bf16, {kT, kN, kH}),
             m.view(DType::f32, {kT, kN}), m.view(DType::f32, {kT, kN, kN}), TensorView()};
  p.out = p.residual; // in place
  require_error([&] { validate_post(c, p); },
                {"mhc_post: argument 'out': overlaps input 'residual'", "no in-place operation"});
}

TEST_CASE("validation error: bad split count, k or config", "[mhc][validate]") {
  FakeMemory m;
  Config c = config();
  require_error([&] { validate_pre(c, pre_args(m, c, 1), 0); },
                {"mhc_pre: split count must be in [1, 1024], got 0"});
  StageAArgs sa{m.view(DType::bf16, {kT, 100}), m.view(DType::f32, {kM3, 100}),
                m.view(DType::f32, {1, kT, kM3}), m.view(DType::f32, {1, kT})};
  require_error([&] { validate_stage_a(c, sa, 100, 1); },
                {"mhc_stage_a: reduction length k = 100; expected n·H = 256 or H = 64"});
  Config bad = config();
  bad.hidden = 0;
  require_error([&] { validate_pre(bad, pre_args(m, c, 1), 1); },
                {"mhc::Config: field 'hidden' must be >= 1", "got 0"});
}

TEST_CASE("validation error: hc_head and sinkhorn shapes", "[mhc][validate]") {
  FakeMemory m;
  const Config c = config();
  HeadArgs hd{m.view(DType::bf16, {kT, kN, kH}), m.view(DType::f32, {kM3, kN * kH}),
              m.view(DType::f32, {1}), m.view(DType::f32, {kN}), m.view(DType::bf16, {kT, kH})};
  require_error([&] { validate_head(c, hd); },
                {"hc_head: argument 'fn': has the wrong shape", "expected f32[4, 256]"});
  SinkhornArgs s{m.view(DType::f32, {kT, kN, kN}), m.view(DType::bf16, {kT, kN, kN})};
  require_error([&] { validate_sinkhorn(c, s); },
                {"sinkhorn: argument 'comb': has the wrong dtype", "expected f32[5, 4, 4]"});
}
