// The mHC plans (kernels/mhc/plan.h), without a GPU: the decisions (split policy, small-T
// kernels, tile sizes), that every plan binds every kernel parameter to an op tensor or a
// workspace slice of the right dtype and rank, that traced kernels and compiled kernels are
// shared between plans, and what `tessera emit` lists.
#include "base/error.h"
#include "jit/compiled_kernel.h"
#include "kernels/mhc/op_spec.h"
#include "kernels/mhc/plan.h"
#include "kernels/mhc/register.h"
#include "runtime/driver.h"
#include "tests/kernels/mhc/configs.h"

#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <variant>

namespace mhc = tessera::mhc;
namespace kernels = tessera::mhc::kernels;
using mhc::Op;
using tessera::DType;
using tessera::ir::Param;

namespace {

mhc::Config config(std::int64_t H) {
  mhc::Config c;
  c.hidden = H;
  return c;
}

mhc::Plan plan(Op op, const mhc::Config& c, std::int64_t T, int sm_count = 132, int cc_major = 9) {
  return mhc::make_plan(
      {.op = op, .config = c, .tokens = T, .target = mhc::gpu_target(sm_count, 0, cc_major)});
}

std::vector<std::string> labels(const mhc::Plan& p) {
  std::vector<std::string> out;
  for (const auto& k : p.launches) {
    out.emplace_back(k.label);
  }
  return out;
}

template <class P> const P& params(const mhc::KernelLaunch& k) {
  REQUIRE(std::holds_alternative<P>(k.params));
  return std::get<P>(k.params);
}

/** Checks that `p` binds each parameter of each kernel to a tensor of the op, or a workspace
 * slice inside the workspace, with the parameter's dtype and rank; and that some kernel writes
 * each output of the op. */
void check_bindings(const mhc::Plan& p) {
  const auto tensors = mhc::op_spec(p.op).tensors(p.config, p.tokens, p.splits);
  std::map<std::string, const mhc::TensorSpec*> by_name;
  for (const auto& t : tensors) {
    by_name[t.name] = &t;
  }
  std::set<std::string> written;
  for (const auto& k : p.launches) {
    const tessera::ir::Kernel& kernel = k.kernel();
    INFO(mhc::op_name(p.op) << " T=" << p.tokens << " kernel " << k.label);
    REQUIRE(k.args.size() == kernel.params.size());
    for (std::size_t i = 0; i < k.args.size(); ++i) {
      const mhc::Binding& b = k.args[i];
      const Param& param = kernel.params[i];
      INFO("parameter " << param.name << " bound to " << b.tensor);
      REQUIRE(param.kind == Param::Kind::tensor);
      const int rank = static_cast<int>(param.buffer->shape.size());
      if (b.tensor == "workspace") {
        REQUIRE(b.rank == rank);
        CHECK(b.dtype == param.dtype);
        std::int64_t bytes = 4;
        for (int d = 0; d < b.rank; ++d) {
          bytes *= b.shape[d];
        }
        CHECK(b.offset % mhc::kWorkspaceAlign == 0);
        CHECK(b.offset + bytes <= p.workspace.total_bytes);
        continue;
      }
      REQUIRE(by_name.count(std::string(b.tensor)) == 1);
      const mhc::TensorSpec& t = *by_name[std::string(b.tensor)];
      CHECK(t.dtype == param.dtype);
      if (b.rank == 0) {
        CHECK(static_cast<int>(t.shape.size()) == rank);
      } else {
        // A reshape keeps the element count.
        CHECK(b.rank == rank);
        std::int64_t numel = 1;
        for (int d = 0; d < b.rank; ++d) {
          numel *= b.shape[d];
        }
        CHECK(numel == t.numel());
      }
      if (param.buffer->writable) {
        CHECK(t.output); // kernels write only the op's outputs (and the workspace)
        written.insert(t.name);
      }
    }
  }
  for (const auto& t : tensors) {
    INFO(mhc::op_name(p.op) << " output " << t.name);
    CHECK(written.count(t.name) == (t.output ? 1u : 0u));
  }
}

} // namespace

TEST_CASE("mhc_pre's plan: stage A then the big fuse, splits from the SM count",
          "[mhc][plan][cpu]") {
  const mhc::Config c = config(7168); // K = 28672
  const mhc::Plan p = plan(Op::mhc_pre, c, 1);
  CHECK(labels(p) == std::vector<std::string>{"stage_a", "big_fuse"});
  // 132 SMs fill one M block: min(132, 448 / 4) = 112, capped at K / 1024 = 28 for the
  // per-token kernel.
  CHECK(p.splits == 28);
  CHECK(p.workspace.total_bytes == mhc::workspace_bytes(c, 1, 28));
  const auto& a = params<kernels::StageAParams>(p.launches[0]);
  CHECK(a.k == 28672);
  CHECK(a.rows == 24);
  CHECK(a.splits == 28);
  CHECK(a.precision == mhc::GemmPrecision::tf32);
  CHECK(a.threads * 4 == a.tile_k); // four K elements per thread
  const auto& b = params<kernels::BigFuseParams>(p.launches[1]);
  CHECK(b.variant == kernels::BigFuseVariant::plain);
  CHECK(b.splits == 28);
  CHECK(b.hidden == 7168);
  // The residual reaches stage A flattened, and stage A writes the workspace.
  const mhc::Binding& x = p.launches[0].args[0];
  CHECK(x.tensor == "residual");
  CHECK(x.rank == 2);
  CHECK(x.shape[0] == 1);
  CHECK(x.shape[1] == 28672);
  CHECK(p.launches[0].args[2].tensor == "workspace");
  CHECK(p.launches[0].args[3].offset == p.workspace.sqrsum_offset);

  // More SMs, more splits until the cap; more tokens, fewer.
  CHECK(plan(Op::mhc_pre, config(4096), 1).splits == 16); // K = 16384: cap 16
  // Past T = 16 the token-tile kernel: two blocks per SM over ceil(T / 128) tiles.
  CHECK(plan(Op::mhc_pre, config(4096), 1024, 132).splits == 33);
  CHECK(plan(Op::mhc_pre, config(4096), 8192, 132).splits == 4);
  CHECK(plan(Op::mhc_pre, config(4096), 65536, 132).splits == 1);
  mhc::Config fixed = c;
  fixed.split = mhc::SplitPolicy::fixed(5);
  CHECK(plan(Op::mhc_pre, fixed, 1000).splits == 5);
  // T = 0 runs nothing and needs no workspace.
  CHECK(plan(Op::mhc_pre, c, 0).splits == 1);
  CHECK(plan(Op::mhc_pre, c, 0).workspace.total_bytes == 0);

  mhc::Config norm = c;
  norm.norm_eps = 1e-5f;
  CHECK(params<kernels::BigFuseParams>(plan(Op::mhc_pre, norm, 3).launches[1]).variant ==
        kernels::BigFuseVariant::norm);
}

TEST_CASE("stage A: the token-tile tensor-core kernel from the measured crossovers on a GPU",
          "[mhc][plan][cpu]") {
  const mhc::Config c = config(7168); // K = 28672: 448 K tiles of 64
  // TF32: from T·K = 8 · 28672 on (T 8 at H 7168, T 16 at H 4096), the per-token kernel below.
  CHECK(std::holds_alternative<kernels::StageAParams>(plan(Op::mhc_pre, c, 7).launches[0].params));
  const mhc::Plan decode = plan(Op::mhc_pre, c, 8);
  CHECK(params<kernels::StageAMmaParams>(decode.launches[0]).block_m == 16);
  CHECK(decode.splits == 112); // one token tile: 264 blocks wanted, capped at 448 / 4 K tiles
  const mhc::Config c4 = config(4096);
  CHECK(std::holds_alternative<kernels::StageAParams>(plan(Op::mhc_pre, c4, 8).launches[0].params));
  CHECK(std::holds_alternative<kernels::StageAMmaParams>(
      plan(Op::mhc_pre, c4, 16).launches[0].params));
  CHECK(mhc::use_stage_a_mma(14, 16384, mhc::GemmPrecision::tf32));
  CHECK_FALSE(mhc::use_stage_a_mma(13, 16384, mhc::GemmPrecision::tf32));
  const mhc::Plan mid = plan(Op::mhc_pre, c, 17);
  const auto& m = params<kernels::StageAMmaParams>(mid.launches[0]);
  CHECK(m.block_m == 32);
  CHECK(m.rows == 24);
  CHECK(m.precision == mhc::GemmPrecision::tf32);
  CHECK(mid.splits == 112);
  CHECK(m.splits == mid.splits);
  CHECK(params<kernels::StageAMmaParams>(plan(Op::mhc_pre, c, 64).launches[0]).block_m == 64);
  const mhc::Plan large = plan(Op::mhc_pre, c, 4096);
  const auto& l = params<kernels::StageAMmaParams>(large.launches[0]);
  CHECK(l.block_m == 128);
  CHECK(large.splits == 8); // 32 tiles x 8 = 256 blocks <= 2 per SM: one wave
  CHECK(plan(Op::mhc_pre, c, 4096, 66).splits == 4);
  // The fused op's pre half takes it too: by default after a separate post (measured faster),
  // with TESSERA_MHC_POST_STAGE_A=1 fused with the post (one 180 KB block per SM: the 32 token
  // tiles times 4 splits fill the 132 SMs once).
  CHECK(labels(plan(Op::mhc_fused_post_pre, c, 4096)) ==
        std::vector<std::string>{"post", "stage_a", "big_fuse"});
  const mhc::testing::PostStageAOn on;
  const mhc::Plan fused = plan(Op::mhc_fused_post_pre, c, 4096);
  CHECK(labels(fused) == std::vector<std::string>{"post_stage_a", "big_fuse"});
  const auto& ps = params<kernels::PostStageAParams>(fused.launches[0]);
  CHECK(ps.block_m == 128);
  CHECK(ps.rows == 24);
  CHECK(ps.precision == mhc::GemmPrecision::tf32);
  CHECK(fused.splits == 4);
  CHECK(ps.splits == fused.splits);
  CHECK(plan(Op::mhc_fused_post_pre, c, 16384).splits == 1);
  CHECK(plan(Op::mhc_fused_post_pre, c, 17).splits == 112); // one 32-token tile: every H tile
  CHECK(mhc::post_stage_a_splits(c, 1024, 132) == 16);
  // fp32 (split TF32 in the tile) and hc_head (fp32 by the spec) switch past T = 128.
  mhc::Config fp32 = c;
  fp32.gemm_precision = mhc::GemmPrecision::fp32;
  CHECK(std::holds_alternative<kernels::StageAParams>(
      plan(Op::mhc_pre, fp32, 128).launches[0].params));
  const auto& f = params<kernels::StageAMmaParams>(plan(Op::mhc_pre, fp32, 129).launches[0]);
  CHECK(f.precision == mhc::GemmPrecision::fp32);
  // (hc_head's two-kernel form: sm_80; sm_90+ runs head_fused.)
  CHECK(std::holds_alternative<kernels::StageAParams>(
      plan(Op::hc_head, c, 128, 132, 8).launches[0].params));
  const mhc::Plan head = plan(Op::hc_head, c, 4096, 132, 8);
  const auto& h = params<kernels::StageAMmaParams>(head.launches[0]);
  CHECK(h.rows == 4);
  CHECK(h.precision == mhc::GemmPrecision::fp32);
  CHECK(params<kernels::HeadCollapseParams>(head.launches[1]).splits == head.splits);
  // So does every CPU plan (its thread loop vectorises; the tile runs FMA loops there).
  const mhc::Plan cpu = mhc::make_plan(
      {.op = Op::mhc_pre, .config = c, .tokens = 4096, .target = {tessera::Target::cpu, 0, 2}});
  CHECK(std::holds_alternative<kernels::StageAParams>(cpu.launches[0].params));
}

TEST_CASE("mhc_fused_post_pre switches to the single-pass kernel at small T", "[mhc][plan][cpu]") {
  const mhc::Config c = config(4096);
  const mhc::Plan small = plan(Op::mhc_fused_post_pre, c, mhc::kFusedSmallT);
  CHECK(labels(small) == std::vector<std::string>{"fused_post", "big_fuse"});
  CHECK(small.splits == 4); // vLLM: 8 for T < 8 and H <= 4096, else 4
  CHECK(plan(Op::mhc_fused_post_pre, c, 7).splits == 8);
  CHECK(plan(Op::mhc_fused_post_pre, config(7168), 7).splits == 4);
  CHECK(params<kernels::FusedPostParams>(small.launches[0]).splits == small.splits);
  // Past it, with the token-tile stage A (TF32 from T·K >= 8 · 28672): post, stage A, big fuse;
  // with TESSERA_MHC_POST_STAGE_A=1 post and stage A are one kernel writing residual_out, which
  // the big fuse then reads.
  CHECK(labels(plan(Op::mhc_fused_post_pre, c, mhc::kFusedSmallT + 1)) ==
        std::vector<std::string>{"post", "stage_a", "big_fuse"});
  const mhc::testing::PostStageAOn on;
  const mhc::Plan large = plan(Op::mhc_fused_post_pre, c, mhc::kFusedSmallT + 1);
  CHECK(labels(large) == std::vector<std::string>{"post_stage_a", "big_fuse"});
  CHECK(large.launches[0].args[5].tensor == "residual_out");
  CHECK(large.launches[1].args[4].tensor == "residual_out");
  // With the per-token stage A (exact fp32 below T = 129): post, then stage A reading its output.
  mhc::Config fp32 = c;
  fp32.gemm_precision = mhc::GemmPrecision::fp32;
  const mhc::Plan three = plan(Op::mhc_fused_post_pre, fp32, mhc::kFusedSmallT + 1);
  CHECK(labels(three) == std::vector<std::string>{"post", "stage_a", "big_fuse"});
  CHECK(three.launches[0].args[4].tensor == "residual_out");
  CHECK(three.launches[1].args[0].tensor == "residual_out");
  CHECK(three.launches[2].args[4].tensor == "residual_out");
}

TEST_CASE("mhc_post's tile and hc_head's fp32 projection", "[mhc][plan][cpu]") {
  const mhc::Config c = config(4096);
  CHECK(params<kernels::PostParams>(plan(Op::mhc_post, c, 16).launches[0]).tile_h == 256);
  CHECK(params<kernels::PostParams>(plan(Op::mhc_post, c, 17).launches[0]).tile_h == 512);
  // By default every GPU runs stage A, then the collapse (head_fused is opt-in there until it
  // has been measured on one); the CPU backend runs head_fused.
  CHECK(labels(plan(Op::hc_head, c, 3)) == std::vector<std::string>{"stage_a", "head_collapse"});
  CHECK(labels(mhc::make_plan({.op = Op::hc_head,
                               .config = c,
                               .tokens = 3,
                               .target = mhc::target_for(tessera::MemoryKind::host)})) ==
        std::vector<std::string>{"head_fused"});
  // Opted in, sm_90+: one pass, a cluster of 8 blocks per token tile, one block per SM; its
  // partials take the workspace's split slots. sm_80 keeps the two kernels.
  const mhc::testing::HeadFusedOn on;
  for (const std::int64_t T : {1, 3, 4096}) {
    const mhc::Plan fused = plan(Op::hc_head, c, T);
    REQUIRE(labels(fused) == std::vector<std::string>{"head_fused"});
    const auto& f = params<kernels::HeadFusedParams>(fused.launches[0]);
    CHECK(f.cluster == 8);
    CHECK(f.max_clusters == 132 / 8);
    CHECK(f.slice() == 512);
    CHECK(fused.splits == f.cluster);
    CHECK(fused.launches[0].kernel().cluster == std::vector<int>{1, 8});
  }
  CHECK(params<kernels::HeadFusedParams>(plan(Op::hc_head, config(1000), 5).launches[0]).slice() ==
        128);
  const mhc::Plan head = plan(Op::hc_head, c, 3, 132, 8);
  CHECK(labels(head) == std::vector<std::string>{"stage_a", "head_collapse"});
  const auto& a = params<kernels::StageAParams>(head.launches[0]);
  CHECK(a.rows == 4);
  CHECK(a.precision == mhc::GemmPrecision::fp32); // whatever config.gemm_precision says
  CHECK(params<kernels::HeadCollapseParams>(head.launches[1]).splits == head.splits);
  CHECK(head.splits == plan(Op::mhc_pre, c, 3).splits);
}

TEST_CASE("the stages alone take the caller's split count", "[mhc][plan][cpu]") {
  const mhc::Config c = config(5137);
  const mhc::Plan a = mhc::make_plan(
      {.op = Op::stage_a, .config = c, .tokens = 9, .target = mhc::gpu_target(), .splits = 7});
  CHECK(a.splits == 7);
  CHECK(a.workspace.total_bytes == 0);
  CHECK(params<kernels::StageAParams>(a.launches[0]).k == c.k());
  const mhc::Plan bcast = mhc::make_plan({.op = Op::stage_a,
                                          .config = c,
                                          .tokens = 9,
                                          .target = mhc::gpu_target(),
                                          .splits = 2,
                                          .k = c.hidden});
  CHECK(params<kernels::StageAParams>(bcast.launches[0]).k == 5137);
  const mhc::Plan b = mhc::make_plan(
      {.op = Op::big_fuse, .config = c, .tokens = 9, .target = mhc::gpu_target(), .splits = 3});
  CHECK(params<kernels::BigFuseParams>(b.launches[0]).splits == 3);
  CHECK(b.launches[0].args[0].tensor == "partial_mix");
}

TEST_CASE("every plan binds every kernel parameter", "[mhc][plan][cpu]") {
  for (const auto& oc : mhc::testing::all_cases()) {
    check_bindings(mhc::testing::reference_plan(oc));
  }
  // The stages alone, with and without the fused norm.
  for (Op op : {Op::stage_a, Op::big_fuse}) {
    mhc::Config c = config(1000);
    check_bindings(plan(op, c, 5));
    c.norm_eps = 1e-6f;
    check_bindings(plan(op, c, 20));
  }
}

TEST_CASE("the OpSpec's workspace is the plan's", "[mhc][plan][cpu]") {
  for (Op op : mhc::all_ops()) {
    for (std::int64_t T : {0, 1, 16, 17, 500}) {
      mhc::Config c = config(3000);
      if (op == Op::mhc_pre_broadcast) {
        c.norm_eps = 1e-6f;
      }
      const mhc::Plan p = plan(op, c, T);
      INFO(mhc::op_name(op) << " T=" << T);
      CHECK(mhc::op_spec(op).workspace_bytes(c, T, p.splits) == p.workspace.total_bytes);
    }
  }
}

TEST_CASE("equal kernel parameters share one traced kernel and one compiled kernel",
          "[mhc][plan][cpu]") {
  // mhc_pre and mhc_fused_post_pre (T > 16, per-token stage A: exact fp32 below T = 129) launch
  // the same stage A and big fuse.
  mhc::Config c = config(2048);
  c.gemm_precision = mhc::GemmPrecision::fp32;
  const mhc::Plan pre = plan(Op::mhc_pre, c, 100);
  const mhc::Plan fused = plan(Op::mhc_fused_post_pre, c, 100);
  REQUIRE(pre.splits == fused.splits);
  CHECK(&pre.launches[0].kernel() == &fused.launches[1].kernel());
  CHECK(&pre.launches[1].kernel() == &fused.launches[2].kernel());
  const tessera::CompiledKernel a =
      tessera::Runtime::compile_for(pre.launches[0].kernel(), "sm_90a");
  const tessera::CompiledKernel b =
      tessera::Runtime::compile_for(fused.launches[1].kernel(), "sm_90a");
  CHECK(&a.kernel_ir() == &b.kernel_ir());
  // Different parameters, different kernels.
  CHECK(&plan(Op::mhc_pre, config(2049), 100).launches[0].kernel() != &pre.launches[0].kernel());
}

TEST_CASE("describe(plan) names the kernels, parameters and bindings", "[mhc][plan][cpu]") {
  const std::string text = mhc::describe(plan(Op::mhc_pre, config(7168), 1));
  INFO(text);
  CHECK(text.find("mhc_pre: T=1 H=7168 n=4 S=28") != std::string::npos);
  CHECK(text.find("1. stage_a: stage_a K=28672 rows=24 S=28") != std::string::npos);
  CHECK(text.find("2. big_fuse: big_fuse plain H=7168") != std::string::npos);
  CHECK(text.find("residual as [1, 28672]") != std::string::npos);
  CHECK(text.find("workspace[0: f32[28, 1, 24]]") != std::string::npos);
}

TEST_CASE("registry entries and emit plans come from the plans", "[mhc][plan][cpu]") {
  CHECK(mhc::mhc_kernel_entries("mhc_fused_post_pre") ==
        std::vector<std::string>{"mhc_fused_post_pre.fused_post", "mhc_fused_post_pre.post",
                                 "mhc_fused_post_pre.stage_a", "mhc_fused_post_pre.big_fuse"});
  CHECK(mhc::mhc_kernel_entries("hc_head") ==
        std::vector<std::string>{"hc_head.stage_a", "hc_head.head_collapse"});
  mhc::register_kernels();
  const auto& reg = tessera::KernelRegistry::global();
  const tessera::KernelParams p = reg.resolve("mhc_pre.stage_a", {"hidden=4096", "tokens=1024"});
  const mhc::Plan from_registry = mhc::registry_plan("mhc_pre", p);
  CHECK(from_registry.splits == plan(Op::mhc_pre, config(4096), 1024).splits);
  // An entry of the other regime is still built (from a token count that has it).
  CHECK(reg.build("mhc_fused_post_pre.fused_post", {"tokens=100"}).name == "mhc_fused_post");
  CHECK_THROWS_AS(mhc::registry_plan("mhc_prez", p), tessera::UserError);
}

TEST_CASE("plans reject invalid requests", "[mhc][plan][cpu]") {
  CHECK_THROWS_WITH(plan(Op::mhc_pre, config(0), 1), Catch::Contains("'hidden'"));
  CHECK_THROWS_WITH(plan(Op::mhc_post, config(64), -1), Catch::Contains("tokens must be >= 0"));
}

TEST_CASE("only the automatic split policy asks the device", "[mhc][plan][cpu]") {
  mhc::Config c = config(4096);
  c.split = mhc::SplitPolicy::fixed(6);
  const mhc::PlanTarget device0 = mhc::target_for(tessera::MemoryKind::cuda, 0);
  CHECK(mhc::make_plan({.op = Op::mhc_pre, .config = c, .tokens = 8, .target = device0}).splits ==
        6);
  c.split = mhc::SplitPolicy::automatic();
  if (!tessera::driver_available()) {
    CHECK_THROWS_AS(
        mhc::make_plan({.op = Op::mhc_pre, .config = c, .tokens = 8, .target = device0}),
        tessera::DriverError);
  }
  // T = 0 and ops without partials never ask.
  CHECK_NOTHROW(mhc::make_plan({.op = Op::mhc_pre, .config = c, .tokens = 0, .target = device0}));
  CHECK_NOTHROW(mhc::make_plan({.op = Op::mhc_post, .config = c, .tokens = 8, .target = device0}));
  // The CPU backend plans for the host's hardware threads.
  const mhc::Plan cpu = mhc::make_plan({.op = Op::mhc_pre,
                                        .config = c,
                                        .tokens = 8,
                                        .target = mhc::target_for(tessera::MemoryKind::host)});
  CHECK(cpu.splits >= 1);
}
