// CPU tests of the mHC host API (no GPU): argument validation through every op, T = 0 launching
// nothing, and every kernel configuration of the GPU tests and benchmarks compiling through
// NVRTC for sm_90a and sm_80.
#include "base/error.h"
#include "jit/compiled_kernel.h"
#include "kernels/mhc/ops.h"
#include "kernels/mhc/plan.h"
#include "kernels/mhc/register.h"
#include "tests/kernels/mhc/configs.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <fmt/format.h>
#include <set>

namespace mhc = tessera::mhc;
using tessera::DType;
using tessera::MemoryKind;
using tessera::TensorView;
using tessera::UserError;

namespace {

// Fake, 256-byte aligned device addresses: validation never dereferences them.
void* fake(std::uintptr_t i) {
  return reinterpret_cast<void*>((std::uintptr_t{1} << 40) + i * (std::uintptr_t{1} << 32));
}

TensorView dev(int i, DType t, std::initializer_list<std::int64_t> shape) {
  return TensorView(fake(i), t, shape, MemoryKind::cuda, 0);
}

mhc::Config config(std::int64_t H = 256) {
  mhc::Config c;
  c.hidden = H;
  c.split = mhc::SplitPolicy::fixed(2);
  return c;
}

constexpr std::int64_t T = 3;
constexpr std::int64_t H = 256;

mhc::PreArgs pre_args(const mhc::Config& c) {
  return {.residual = dev(0, DType::bf16, {T, 4, H}),
          .fn = dev(1, DType::f32, {24, 4 * H}),
          .scale = dev(2, DType::f32, {3}),
          .base = dev(3, DType::f32, {24}),
          .norm_weight = std::nullopt,
          .post_mix = dev(4, DType::f32, {T, 4}),
          .comb_mix = dev(5, DType::f32, {T, 4, 4}),
          .layer_input = dev(6, DType::bf16, {T, H}),
          .workspace = dev(7, DType::u8, {mhc::workspace_bytes(c, T, 2)})};
}

mhc::PostArgs post_args() {
  return {.y = dev(0, DType::bf16, {T, H}),
          .residual = dev(1, DType::bf16, {T, 4, H}),
          .post_mix = dev(2, DType::f32, {T, 4}),
          .comb_mix = dev(3, DType::f32, {T, 4, 4}),
          .out = dev(4, DType::bf16, {T, 4, H})};
}

mhc::FusedPostPreArgs fused_args(const mhc::Config& c) {
  return {.y = dev(0, DType::bf16, {T, H}),
          .residual = dev(1, DType::bf16, {T, 4, H}),
          .post_mix = dev(2, DType::f32, {T, 4}),
          .comb_mix = dev(3, DType::f32, {T, 4, 4}),
          .fn = dev(4, DType::f32, {24, 4 * H}),
          .scale = dev(5, DType::f32, {3}),
          .base = dev(6, DType::f32, {24}),
          .norm_weight = std::nullopt,
          .residual_out = dev(7, DType::bf16, {T, 4, H}),
          .post_mix_out = dev(8, DType::f32, {T, 4}),
          .comb_mix_out = dev(9, DType::f32, {T, 4, 4}),
          .layer_input = dev(10, DType::bf16, {T, H}),
          .workspace = dev(11, DType::u8, {mhc::workspace_bytes(c, T, 2)})};
}

mhc::HeadArgs head_args() {
  return {.residual = dev(0, DType::bf16, {T, 4, H}),
          .fn = dev(1, DType::f32, {4, 4 * H}),
          .scale = dev(2, DType::f32, {1}),
          .base = dev(3, DType::f32, {4}),
          .out = dev(4, DType::bf16, {T, H})};
}

} // namespace

TEST_CASE("mhc ops: validation errors name the op and the argument", "[mhc][ops][cpu]") {
  const mhc::Config c = config();
  {
    auto a = pre_args(c);
    a.residual = dev(0, DType::f32, {T, 4, H});
    CHECK_THROWS_WITH(mhc::mhc_pre(c, a, nullptr),
                      Catch::Contains("mhc_pre: argument 'residual'") && Catch::Contains("bf16"));
  }
  {
    auto a = pre_args(c);
    a.fn = dev(1, DType::f32, {24, 4 * H + 1});
    CHECK_THROWS_WITH(mhc::mhc_pre(c, a, nullptr), Catch::Contains("argument 'fn'"));
  }
  {
    auto a = pre_args(c);
    a.layer_input = TensorView(fake(6), DType::bf16, {T, H}, MemoryKind::host);
    CHECK_THROWS_WITH(mhc::mhc_pre(c, a, nullptr),
                      Catch::Contains("argument 'layer_input'") && Catch::Contains("host"));
  }
  {
    auto a = pre_args(c);
    a.workspace = dev(7, DType::u8, {16});
    CHECK_THROWS_WITH(mhc::mhc_pre(c, a, nullptr),
                      Catch::Contains("argument 'workspace'") && Catch::Contains("too small"));
  }
  {
    mhc::Config cn = c;
    cn.norm_eps = 1e-5f;
    CHECK_THROWS_WITH(mhc::mhc_pre(cn, pre_args(cn), nullptr),
                      Catch::Contains("argument 'norm_weight': missing"));
  }
  {
    mhc::Config bad = c;
    bad.hidden = 0;
    CHECK_THROWS_AS(mhc::mhc_pre(bad, pre_args(c), nullptr), UserError);
  }
  {
    auto a = post_args();
    a.comb_mix = dev(3, DType::f32, {T, 4, 5});
    CHECK_THROWS_WITH(mhc::mhc_post(c, a, nullptr),
                      Catch::Contains("mhc_post: argument 'comb_mix'"));
  }
  {
    auto a = post_args();
    a.out = a.residual;
    CHECK_THROWS_WITH(mhc::mhc_post(c, a, nullptr), Catch::Contains("overlaps"));
  }
  {
    auto a = post_args();
    a.y = TensorView(static_cast<char*>(fake(0)) + 2, DType::bf16, {T, H});
    CHECK_THROWS_WITH(mhc::mhc_post(c, a, nullptr),
                      Catch::Contains("argument 'y'") && Catch::Contains("misaligned"));
  }
  {
    auto a = fused_args(c);
    a.layer_input = dev(10, DType::bf16, {T + 1, H});
    CHECK_THROWS_WITH(mhc::mhc_fused_post_pre(c, a, nullptr),
                      Catch::Contains("mhc_fused_post_pre: argument 'layer_input'"));
  }
  {
    auto a = head_args();
    a.fn = dev(1, DType::f32, {24, 4 * H});
    CHECK_THROWS_WITH(mhc::hc_head(c, a, dev(9, DType::u8, {1 << 20}), nullptr),
                      Catch::Contains("hc_head: argument 'fn'"));
  }
  {
    // The head's workspace depends on its plan, which on a GPU depends on the device (clusters
    // or not): checked on host tensors, which plan for the CPU backend without a driver.
    auto a = head_args();
    for (TensorView* v : {&a.residual, &a.fn, &a.scale, &a.base, &a.out}) {
      *v = TensorView(v->data(), v->dtype(), v->shape(), MemoryKind::host);
    }
    CHECK_THROWS_WITH(
        mhc::hc_head(c, a, TensorView(fake(9), DType::u8, {8}, MemoryKind::host), nullptr),
        Catch::Contains("hc_head: argument 'workspace'"));
  }
  CHECK_THROWS_WITH(mhc::sinkhorn(c,
                                  {.logits = dev(0, DType::f32, {T, 4, 4}),
                                   .comb = dev(1, DType::bf16, {T, 4, 4})},
                                  nullptr),
                    Catch::Contains("sinkhorn: argument 'comb'"));
  CHECK_THROWS_WITH(mhc::stage_a(c,
                                 {.x = dev(0, DType::bf16, {T, 4 * H}),
                                  .fn = dev(1, DType::f32, {24, 4 * H}),
                                  .partial_mix = dev(2, DType::f32, {2, T, 24}),
                                  .partial_sqrsum = dev(3, DType::f32, {2, T})},
                                 5, nullptr),
                    Catch::Contains("mhc_stage_a: reduction length"));
  CHECK_THROWS_WITH(mhc::parse_op("mhc_prez"), Catch::Contains("unknown mHC op"));
}

TEST_CASE("mhc ops: T = 0 launches nothing (no GPU needed)", "[mhc][ops][cpu]") {
  const mhc::Config c = config();
  mhc::PostArgs a{.y = TensorView(nullptr, DType::bf16, {0, H}),
                  .residual = TensorView(nullptr, DType::bf16, {0, 4, H}),
                  .post_mix = TensorView(nullptr, DType::f32, {0, 4}),
                  .comb_mix = TensorView(nullptr, DType::f32, {0, 4, 4}),
                  .out = TensorView(nullptr, DType::bf16, {0, 4, H})};
  CHECK_NOTHROW(mhc::mhc_post(c, a, nullptr));
  mhc::HeadArgs h{.residual = TensorView(nullptr, DType::bf16, {0, 4, H}),
                  .fn = dev(1, DType::f32, {4, 4 * H}),
                  .scale = dev(2, DType::f32, {1}),
                  .base = dev(3, DType::f32, {4}),
                  .out = TensorView(nullptr, DType::bf16, {0, H})};
  CHECK_NOTHROW(mhc::hc_head(c, h, TensorView(nullptr, DType::u8, {0}), nullptr));
  CHECK(mhc::pre_workspace_bytes(c, 0) == 0);
}

TEST_CASE("every mHC kernel configuration compiles through NVRTC for sm_90a and sm_80",
          "[mhc][nvrtc][cpu]") {
  std::set<std::string> sources;
  int kernels = 0;
  // Each plan is compiled for the archs it can run on: a kernel with a cluster (planned for
  // cc 9 only) needs sm_90; the cc 8 plans cover the forms A100-class GPUs run instead.
  const mhc::testing::HeadFusedOn head_fused; // opt-in on GPUs: compile it too
  for (const auto& oc : mhc::testing::all_cases()) {
    for (const int cc : {9, 8}) {
      const mhc::Plan plan = mhc::testing::reference_plan(oc, cc);
      for (const mhc::KernelLaunch& k : plan.launches) {
        INFO(mhc::op_name(oc.op) << " H=" << oc.config.hidden << " T=" << oc.tokens << " cc " << cc
                                 << " S=" << plan.splits << " kernel " << k.label);
        std::string src;
        REQUIRE_NOTHROW(src = tessera::Runtime::emit(k.kernel()));
        if (!sources.insert(src).second) {
          continue;
        }
        const bool clusters = !k.kernel().cluster.empty();
        for (const char* arch : {"sm_90a", "sm_80"}) {
          if (clusters && std::string(arch) == "sm_80") {
            CHECK_THROWS_WITH(tessera::Runtime::compile_for(k.kernel(), arch),
                              Catch::Contains("cluster_barrier needs sm_90 or newer"));
            continue;
          }
          tessera::CompiledKernel ck;
          REQUIRE_NOTHROW(ck = tessera::Runtime::compile_for(k.kernel(), arch));
          const auto& r = ck.resources();
          if (r.spill_store_bytes > 0) {
            WARN(k.kernel().name << " " << arch << " spills " << r.spill_store_bytes << " bytes ("
                                 << r.registers << " registers)");
          }
        }
        ++kernels;
      }
    }
  }
  fmt::print("[mhc nvrtc] {} distinct kernels compiled for sm_90a and sm_80\n", kernels);
}

TEST_CASE("mHC kernels are registered for tessera list/emit", "[mhc][registry][cpu]") {
  mhc::register_kernels();
  const auto& reg = tessera::KernelRegistry::global();
  for (const char* op :
       {"mhc_pre", "mhc_pre_broadcast", "mhc_post", "mhc_fused_post_pre", "hc_head", "sinkhorn"}) {
    const auto entries = mhc::mhc_kernel_entries(op);
    REQUIRE(!entries.empty());
    for (const auto& e : entries) {
      INFO(e);
      REQUIRE(reg.contains(e));
      for (const char* h : {"hidden=7168", "hidden=5137"}) {
        const tessera::ir::Kernel k = reg.build(e, {h, "tokens=4"});
        CHECK(tessera::Runtime::emit(k).find("__global__") != std::string::npos);
      }
    }
  }
  CHECK(mhc::mhc_kernel_entries("nope").empty());
  CHECK(reg.build("mhc_pre.big_fuse", {"norm=1"}).name == "mhc_big_fuse_norm");
}
