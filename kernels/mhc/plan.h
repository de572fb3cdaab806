/** \file
 * The plan of an mHC op: for (op, Config, T, where it runs), the kernels it launches in order —
 * each with its builder's parameters and the tensors or workspace slices it binds — the split
 * count of the stage-A partials and the workspace they need. Every decision of that kind
 * (split policy, per-token vs tensor-core stage A, the small-T fused kernel, tile sizes) is
 * made here and nowhere else (DeepGEMM's heuristics, apart from the kernels' code): the host API
 * (ops.h) launches the plan, `tessera emit` prints it, and the tests and benchmarks iterate it.
 *
 * \code
 *   const mhc::Plan plan = mhc::make_plan({.op = mhc::Op::mhc_pre, .config = cfg, .tokens = T,
 *                                          .target = mhc::gpu_target(132)});
 *   std::cout << mhc::describe(plan);                 // S, workspace, kernels and bindings
 *   for (const mhc::KernelLaunch& k : plan.launches) {
 *     tessera::Runtime::compile_for(k.kernel(), "sm_90a");
 *   }
 * \endcode
 */
#pragma once

#include "ir/ir.h"
#include "jit/target.h"
#include "kernels/mhc/config.h"
#include "kernels/mhc/kernels.h"
#include "kernels/mhc/op_spec.h"
#include "kernels/mhc/validate.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tessera::mhc {

/** Which kernel, with which parameters: the alternative says which builder traces it. */
using KernelChoice =
    std::variant<kernels::StageAParams, kernels::StageAMmaParams, kernels::BigFuseParams,
                 kernels::PostParams, kernels::FusedPostParams, kernels::PostStageAParams,
                 kernels::HeadCollapseParams, kernels::HeadFusedParams, kernels::SinkhornParams>;

/** The builder's name and describe() of its parameters ("stage_a K=16384 rows=24 S=16 ..."). */
std::string describe(const KernelChoice& params);

/** The kernel `params` selects, traced on first use and kept for the process (thread-safe): the
 * ops' launches find their IR without tracing, and Runtime::compile's memo (jit/kernel_cache.h)
 * finds the compiled kernel by that IR. */
const ir::Kernel& traced_kernel(const KernelChoice& params);

/** Where a plan's kernels run, and the device facts its heuristics use. */
struct PlanTarget {
  Target target = Target::cuda; ///< cuda (device memory) or cpu (host memory, the LLVM backend)
  int device = 0;               ///< cuda: the device
  /** SMs the automatic split policy fills; unset: the device's (cuda) or the host's hardware
   * threads (cpu), asked only when a plan needs it. */
  std::optional<int> sm_count;
  /** Compute capability major (9: clusters, PDL); unset: the device's, asked when needed. */
  std::optional<int> cc_major;
};

/** SM count of the H100 SXM / H200, the GPUs the mHC ops are tuned on: what `tessera emit` and
 * the CI compile tests plan for without a GPU. */
inline constexpr int kReferenceSmCount = 132;

/** A cuda target with a given SM count and compute capability (no GPU needed). */
inline PlanTarget gpu_target(int sm_count = kReferenceSmCount, int device = 0, int cc_major = 9) {
  return {Target::cuda, device, sm_count, cc_major};
}
/** Where an op on tensors in `memory` runs: the CPU backend for host memory, else `device`. */
PlanTarget target_for(MemoryKind memory, int device = 0);

/** One tensor argument of a launch: an op tensor by name, or a slice of the workspace. */
struct Binding {
  /** The op tensor (an argument name of validate.h: "residual", "fn", ...) or "workspace". */
  std::string_view tensor;
  /** The view the kernel parameter gets (rank 0: the tensor as passed). T is the caller's. */
  std::array<std::int64_t, 4> shape{};
  int rank = 0;
  /** Workspace slices: byte offset and element type. */
  std::int64_t offset = 0;
  DType dtype = DType::f32;
};

/** One kernel launch of a plan. */
struct KernelLaunch {
  std::string_view label;    ///< "stage_a", "big_fuse", "post", ...
  KernelChoice params;       ///< builder and parameters
  std::vector<Binding> args; ///< one per kernel parameter, in order
  /** traced_kernel(params). */
  const ir::Kernel& kernel() const { return traced_kernel(params); }
};

/** What make_plan() plans for. */
struct PlanRequest {
  Op op = Op::mhc_pre;
  Config config;
  std::int64_t tokens = 0;
  PlanTarget target;
  /** stage_a and big_fuse alone: the split count of the caller's partials (0: the plan's). */
  int splits = 0;
  /** stage_a alone: the reduction length (config.k(), or config.hidden for the broadcast
   * variant; 0: config.k()). */
  std::int64_t k = 0;
};

/** The kernels of one op call. */
struct Plan {
  Op op = Op::mhc_pre;
  Config config;
  std::int64_t tokens = 0;
  /** S: splits of the stage-A partials (1 for ops without them, and for T = 0). */
  int splits = 1;
  /** Where the partials live in the workspace; total_bytes is 0 when the op needs none (or
   * T = 0). hc_head's partials have n rows instead of M3 and fit the same layout. */
  WorkspaceLayout workspace;
  std::vector<KernelLaunch> launches;
};

/** The plan of `request` (validates the Config; UserError for an invalid one). Asks the device
 * for its SM count only under the automatic split policy with T > 0. */
Plan make_plan(const PlanRequest& request);

/** A readable account of a plan: op, T, S, workspace, then one line per launch with its
 * parameters and bindings. What `tessera emit OP` prints before the kernels. */
std::string describe(const Plan& plan);

// -- The decisions, exposed for the host API's queries and the tests ----------------------------

/** Whether stage A runs on tensor cores (stage_a_mma, token tiles) on a GPU for `tokens` tokens
 * of `k` elements at `precision`: in TF32 once T·K ≥ kStageAMmaMinWork (the per-token kernel
 * re-reads fn per token), in fp32 (split TF32) past kStageAMmaFp32MinT tokens;
 * TESSERA_MHC_STAGE_A=mma always, =fma never (see plan.cpp). CPU plans always take the
 * per-token kernel. */
bool use_stage_a_mma(std::int64_t tokens, std::int64_t k, GemmPrecision precision);

/** Measured crossovers of use_stage_a_mma (H100, 2026-12-06, mhc_bench --tokens 1..512):
 *  mhc_pre TF32 switches at T = 8 for H 7168 (10.25 vs 11.10 µs) and T = 16 for H 4096 (8.92 vs
 *  10.88; at T = 8 the per-token kernel wins, 7.75 vs 8.52): T·K ≥ 8 · 28672. hc_head (fp32)
 *  switches past T = 128 (T 128: 17.52 per-token vs 18.45 tile at H 7168; T 256: 31.19 vs
 *  29.17). */
inline constexpr std::int64_t kStageAMmaMinWork = 8 * 28672;
inline constexpr std::int64_t kStageAMmaFp32MinT = 129;

/** Tokens per block of the tensor-core stage A: 16 up to T = 16, 32 up to 32, 64 up to 64, else
 * 128. */
int stage_a_block_m(std::int64_t tokens);

/** Split count of the fused post + tensor-core stage A (kernels::post_stage_a): a fixed
 * config.split as given; automatic: the token tiles times the splits fill the SMs once (one
 * 170 KB block per SM), every split keeping at least one 64-element H tile. */
int post_stage_a_splits(const Config& config, std::int64_t tokens, int sm_count);

/** The stage-A split count for a reduction of length `k` over `tokens` tokens on `sm_count` SMs:
 * a fixed config.split as given; automatic: for the token-tile kernel (`tile_kernel`), enough
 * splits for two blocks per SM (one wave) with at least four 64-wide K tiles each; for the
 * per-token kernel, resolve_num_splits() (vLLM's compute_num_split) capped at max(1, k / its K
 * tile). */
int num_splits_for(const Config& config, std::int64_t tokens, std::int64_t k, int sm_count,
                   bool tile_kernel);

} // namespace tessera::mhc
