#include "kernels/mhc/plan.h"

#include "base/error.h"
#include "kernels/mhc/tuning.h"
#include "runtime/device.h"

#include <algorithm>
#include <cstdlib>
#include <fmt/format.h>
#include <map>
#include <mutex>
#include <thread>

namespace tessera::mhc {

namespace {

// The per-token FMA stage A: threads per block and K elements per block iteration (4 per
// thread). The split policy keeps at least one such tile per split.
constexpr int kStageAThreads = 256;
constexpr int kStageATile = 1024;

// mhc_post at small T: narrower H tiles (32-thread blocks) give more blocks to spread a row over.
constexpr std::int64_t kPostSmallT = 16;
constexpr int kPostSmallTileH = 256;
constexpr int kPostTileH = 512;
// On the CPU backend a block is a function call over its thread loop: wide tiles amortise it
// (T 1024, H 4096 on a 2-core Zen 3: 512 → 6.7 ms, 2048 → 5.2 ms).
constexpr int kCpuPostTileH = 2048;

/** An override of a built-in choice for measuring alternatives on a device without a rebuild:
 * the environment variable `name`, read once; `fallback` when unset. UserError when it is not
 * a whole number in [lo, hi]. */
std::int64_t override_or(const char* name, std::int64_t fallback, std::int64_t lo,
                         std::int64_t hi) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    return fallback;
  }
  char* end = nullptr;
  const long long x = std::strtoll(v, &end, 10);
  if (*end != '\0' || x < lo || x > hi) {
    throw UserError(fmt::format("{}={}: expected a whole number in [{}, {}]", name, v, lo, hi));
  }
  return x;
}

int post_tile_h(const PlanTarget& target, std::int64_t tokens) {
  if (target.target == Target::cpu) {
    return kCpuPostTileH;
  }
  // TESSERA_MHC_POST_TILE_H: a fixed tile for every T (multiples of 8 from 256: 32 to 1024
  // threads), for measurements.
  static const std::int64_t forced = override_or("TESSERA_MHC_POST_TILE_H", 0, 256, 8192);
  if (forced != 0) {
    if (forced % 8 != 0) {
      throw UserError(fmt::format("TESSERA_MHC_POST_TILE_H={}: expected a multiple of 8", forced));
    }
    return static_cast<int>(forced);
  }
  return tokens <= kPostSmallT ? kPostSmallTileH : kPostTileH;
}

/** Threads per mhc_post block (0: one 16-byte vector per stream per thread). */
int post_threads(const PlanTarget& target) {
  if (target.target == Target::cpu) {
    return 0;
  }
  // TESSERA_MHC_POST_THREADS: a fixed block size (a multiple of 32 dividing tile_h / 8), for
  // measurements.
  static const std::int64_t forced = override_or("TESSERA_MHC_POST_THREADS", 0, 0, 1024);
  return static_cast<int>(forced);
}

// The standalone Sinkhorn runs a warp per 32 / n² tokens up to this T (latency-bound: 20
// dependent normalisations per token), a thread per token beyond (throughput-bound: the warp
// form executes 16x the instructions per token for n = 4). Measured on an H100 (2026-12-06,
// graph replay, µs, thread / warp): T 1 9.1 / 3.5, T 4096 10.6 / 4.4, T 16384 12.6 / 9.5,
// T 65536 24.3 / 31.6. TESSERA_MHC_SINKHORN_WARP_MAX_T overrides it for measurements.
constexpr std::int64_t kSinkhornWarpMaxT = 16384;

std::int64_t sinkhorn_warp_max_t() {
  static const std::int64_t t =
      override_or("TESSERA_MHC_SINKHORN_WARP_MAX_T", kSinkhornWarpMaxT, 0, std::int64_t{1} << 40);
  return t;
}

/** cp.async ring depth of the tensor-core stage A; TESSERA_MHC_STAGE_A_STAGES overrides it. */
int stage_a_stages() {
  static const std::int64_t stages = override_or("TESSERA_MHC_STAGE_A_STAGES", 3, 1, 6);
  return static_cast<int>(stages);
}

/** Whether mhc_fused_post_pre fuses its post into the token-tile stage A (kernels::post_stage_a):
 * off unless TESSERA_MHC_POST_STAGE_A=1. Measured on an H100 (2026-12-06) it is slower than post
 * then stage A at every T past 16 (H 7168, T 4096: 804 µs against 384; the best token tile,
 * 16, 426 µs): one 170 KB block per SM cannot hide the loads the separate post streams. Read on
 * every plan (not cached) so tests and measurements can switch it. */
bool post_stage_a_enabled() {
  return override_or("TESSERA_MHC_POST_STAGE_A", 0, 0, 1) == 1;
}

/** hc_head in one pass (kernels::head_fused) needs thread-block clusters: sm_90+, and the CPU
 * backend (which runs a cluster's blocks on their own threads). On the CPU it is the default. On
 * a GPU it is opt-in (TESSERA_MHC_HEAD_FUSED=1) until it has been measured there: it was written
 * and CPU-tested in a session that got no GPU, and the default must not be a kernel nobody has
 * timed (docs/mhc.md). TESSERA_MHC_HEAD_FUSED=0 also turns it off on the CPU. */
bool head_fused_supported(const PlanTarget& target) {
  const std::int64_t choice = override_or("TESSERA_MHC_HEAD_FUSED", -1, 0, 1);
  if (target.target == Target::cpu) {
    return choice != 0;
  }
  return choice == 1 &&
         (target.cc_major ? *target.cc_major : device_info(target.device).cc_major) >= 9;
}

kernels::HeadFusedParams head_fused_params(const PlanTarget& target, const Config& c,
                                           int sm_count) {
  kernels::HeadFusedParams p{
      .hidden = c.hidden, .n = c.n(), .rms_eps = c.rms_eps, .hc_eps = c.hc_pre_eps};
  if (target.target == Target::cpu) {
    p.max_clusters = 2; // a cluster is `cluster` host threads
    return p;
  }
  // TESSERA_MHC_HEAD_{CLUSTER,BLOCK_M,THREADS,STAGES,CLUSTERS}: fixed values, for measurements.
  p.cluster = static_cast<int>(override_or("TESSERA_MHC_HEAD_CLUSTER", p.cluster, 2, 8));
  p.block_m = static_cast<int>(override_or("TESSERA_MHC_HEAD_BLOCK_M", p.block_m, 1, 32));
  p.threads = static_cast<int>(override_or("TESSERA_MHC_HEAD_THREADS", p.threads, 32, 1024));
  p.stages = static_cast<int>(override_or("TESSERA_MHC_HEAD_STAGES", p.stages, 1, 4));
  // One block per SM (the slices of fn and of the residual tile fill most of its shared memory).
  p.max_clusters = static_cast<int>(
      override_or("TESSERA_MHC_HEAD_CLUSTERS", std::max(1, sm_count / p.cluster), 1, 4096));
  return p;
}

/** Whether post_stage_a unrolls a thread's chunk loop; TESSERA_MHC_POST_STAGE_A_UNROLL=0|1
 * overrides it, for measurements. */
bool post_stage_a_unroll() {
  static const bool on = override_or("TESSERA_MHC_POST_STAGE_A_UNROLL", 1, 0, 1) == 1;
  return on;
}

/** Split count of the single-pass fused post+pre kernel (T <= kFusedSmallT). */
int fused_small_splits(const Config& c, std::int64_t tokens) {
  if (c.split.kind == SplitPolicy::Kind::fixed) {
    return c.split.splits;
  }
  // vLLM's choice (§3.7): 8 splits for T < 8 and H <= 4096, else 4.
  return tokens < 8 && c.hidden <= 4096 ? 8 : 4;
}

/** The SM count the split policy of `c` fills; asks the device only when the policy is
 * automatic (a fixed policy needs no GPU, so validation errors come before driver errors). */
int sm_count_of(const PlanTarget& t, const Config& c) {
  if (c.split.kind == SplitPolicy::Kind::fixed) {
    return 1;
  }
  if (t.sm_count) {
    return *t.sm_count;
  }
  if (t.target == Target::cpu) {
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  return device_info(t.device).sm_count;
}

kernels::BigFuseVariant pre_variant(const Config& c) {
  return c.norm_eps ? kernels::BigFuseVariant::norm : kernels::BigFuseVariant::plain;
}

Binding as_given(std::string_view tensor) {
  return Binding{tensor};
}

Binding viewed(std::string_view tensor, std::initializer_list<std::int64_t> shape) {
  Binding b{tensor};
  std::copy(shape.begin(), shape.end(), b.shape.begin());
  b.rank = static_cast<int>(shape.size());
  return b;
}

Binding workspace_slice(std::int64_t offset, std::initializer_list<std::int64_t> shape) {
  Binding b = viewed("workspace", shape);
  b.offset = offset;
  b.dtype = DType::f32;
  return b;
}

/** Builds one plan: the op's tensors, and where stage A's partials live. */
class PlanBuilder {
public:
  explicit PlanBuilder(const PlanRequest& r) : r_(r), c_(r.config) {
    plan_.op = r.op;
    plan_.config = r.config;
    plan_.tokens = r.tokens;
    // A measured choice (tessera tune) for this op, shape and GPU replaces the built-in policy.
    const TuningTable& table = active_tuning();
    if (r.target.target == Target::cuda && r.tokens > 0 && !table.empty()) {
      const int sms =
          r.target.sm_count ? *r.target.sm_count : device_info(r.target.device).sm_count;
      if (const TuningEntry* e = table.find(r.op, r.config, sms, r.tokens)) {
        tuned_ = e->choice;
      }
    }
  }

  Plan build() {
    const std::int64_t T = r_.tokens;
    const int n = c_.n();
    const int M = c_.mix_count();
    switch (r_.op) {
    case Op::mhc_pre:
      use_workspace(pre_splits(c_.k(), c_.gemm_precision), M);
      stage_a("residual", c_.k(), M, c_.gemm_precision);
      big_fuse(pre_variant(c_), "residual", "post_mix", "comb_mix");
      break;
    case Op::mhc_pre_broadcast:
      use_workspace(pre_splits(c_.hidden, c_.gemm_precision), M);
      stage_a("embedding", c_.hidden, M, c_.gemm_precision);
      big_fuse(kernels::BigFuseVariant::broadcast, "embedding", "post_mix", "comb_mix");
      break;
    case Op::mhc_post:
      post("residual", "out");
      break;
    case Op::mhc_fused_post_pre:
      if (T <= kFusedSmallT) {
        use_workspace(T == 0 ? 1 : fused_small_splits(c_, T), M);
        add("fused_post",
            kernels::FusedPostParams{.hidden = c_.hidden, .n = n, .splits = plan_.splits},
            {as_given("y"), as_given("residual"), viewed("post_mix", {T, n}),
             viewed("comb_mix", {T, n, n}), viewed("fn", {M, n, c_.hidden}),
             as_given("residual_out"), mix_, sqrsum_});
      } else if (tile_stage_a(c_.k(), c_.gemm_precision) && post_stage_a_enabled()) {
        // One kernel for post and stage A: the new residual feeds the projection on chip.
        use_workspace(post_stage_a_split_count(), M);
        add("post_stage_a",
            kernels::PostStageAParams{.hidden = c_.hidden,
                                      .n = n,
                                      .rows = M,
                                      .splits = plan_.splits,
                                      .precision = c_.gemm_precision,
                                      .block_m = block_m(),
                                      .stages = stages(),
                                      .unroll_chunks = post_stage_a_unroll()},
            {as_given("y"), as_given("residual"), viewed("post_mix", {T, n}),
             viewed("comb_mix", {T, n, n}), viewed("fn", {M, n, c_.hidden}),
             as_given("residual_out"), mix_, sqrsum_});
      } else {
        use_workspace(pre_splits(c_.k(), c_.gemm_precision), M);
        post("residual", "residual_out");
        stage_a("residual_out", c_.k(), M, c_.gemm_precision);
      }
      big_fuse(pre_variant(c_), "residual_out", "post_mix_out", "comb_mix_out");
      break;
    case Op::hc_head:
      // The head's projection has n rows and is full fp32 (spec §3.8), whatever
      // config.gemm_precision says.
      if (head_fused_supported(r_.target)) {
        const kernels::HeadFusedParams hp =
            head_fused_params(r_.target, c_, sm_count_of(r_.target, c_));
        use_workspace(hp.cluster, n);
        add("head_fused", hp,
            {viewed("fn", {n, n, c_.hidden}), as_given("scale"), as_given("base"),
             as_given("residual"), as_given("out"), mix_, sqrsum_});
        break;
      }
      use_workspace(pre_splits(c_.k(), GemmPrecision::fp32), n);
      stage_a("residual", c_.k(), n, GemmPrecision::fp32);
      add("head_collapse",
          kernels::HeadCollapseParams{.hidden = c_.hidden,
                                      .n = n,
                                      .splits = plan_.splits,
                                      .rms_eps = c_.rms_eps,
                                      .hc_eps = c_.hc_pre_eps},
          {mix_, sqrsum_, as_given("scale"), as_given("base"), as_given("residual"),
           as_given("out")});
      break;
    case Op::sinkhorn:
      add("sinkhorn",
          kernels::SinkhornParams{.n = n,
                                  .iters = c_.sinkhorn_iters,
                                  .eps = c_.hc_sinkhorn_eps,
                                  .warp = n * n <= 32 && r_.tokens <= sinkhorn_warp_max_t()},
          {viewed("logits", {T, n, n}), viewed("comb", {T, n, n})});
      break;
    case Op::stage_a: {
      const std::int64_t k = r_.k > 0 ? r_.k : c_.k();
      use_caller_partials(k);
      add("stage_a", stage_a_params(k, M, c_.gemm_precision),
          {as_given("x"), as_given("fn"), mix_, sqrsum_});
      break;
    }
    case Op::big_fuse:
      use_caller_partials(c_.k());
      big_fuse(pre_variant(c_), "residual", "post_mix", "comb_mix");
      break;
    }
    return std::move(plan_);
  }

private:
  /** The stage-A split count of an op that chooses it (1 for T = 0: nothing runs). */
  int pre_splits(std::int64_t k, GemmPrecision precision) const {
    if (r_.tokens == 0) {
      return 1;
    }
    if (tuned_.splits > 0 && c_.split.kind == SplitPolicy::Kind::automatic) {
      return tuned_.splits;
    }
    return num_splits_for(c_, r_.tokens, k, sm_count_of(r_.target, c_), tile_stage_a(k, precision));
  }

  /** The split count of post_stage_a (1 for T = 0: nothing runs). */
  int post_stage_a_split_count() const {
    if (r_.tokens == 0) {
      return 1;
    }
    if (tuned_.splits > 0 && c_.split.kind == SplitPolicy::Kind::automatic) {
      return tuned_.splits;
    }
    return post_stage_a_splits(c_, r_.tokens, sm_count_of(r_.target, c_));
  }

  /** The token-tile stage A on a GPU; the CPU backend keeps the per-token kernel, whose
   * vectorised thread loop is its fastest form (the tile's gemm runs there as scalar FMA loops;
   * its CPU numerics are tested directly). */
  bool tile_stage_a(std::int64_t k, GemmPrecision precision) const {
    if (r_.target.target != Target::cuda) {
      return false;
    }
    if (tuned_.stage_a != StageAKernel::policy) {
      return tuned_.stage_a == StageAKernel::tile;
    }
    return use_stage_a_mma(r_.tokens, k, precision);
  }

  int block_m() const { return tuned_.block_m > 0 ? tuned_.block_m : stage_a_block_m(r_.tokens); }
  int stages() const { return tuned_.stages > 0 ? tuned_.stages : stage_a_stages(); }

  /** Partials of `rows` mixes in the workspace, `splits` deep. */
  void use_workspace(int splits, int rows) {
    const std::int64_t T = r_.tokens;
    plan_.splits = splits;
    plan_.workspace = workspace_layout(c_, T, splits);
    mix_ = workspace_slice(plan_.workspace.mix_offset, {splits, T, rows});
    sqrsum_ = workspace_slice(plan_.workspace.sqrsum_offset, {splits, T});
  }

  /** Partials the caller passes (the stages alone): S is theirs, or the plan's choice. */
  void use_caller_partials(std::int64_t k) {
    plan_.splits = r_.splits > 0 ? r_.splits : pre_splits(k, c_.gemm_precision);
    mix_ = as_given("partial_mix");
    sqrsum_ = as_given("partial_sqrsum");
  }

  KernelChoice stage_a_params(std::int64_t k, int rows, GemmPrecision precision) const {
    if (tile_stage_a(k, precision)) {
      return kernels::StageAMmaParams{.k = k,
                                      .rows = rows,
                                      .splits = plan_.splits,
                                      .precision = precision,
                                      .block_m = block_m(),
                                      .stages = stages()};
    }
    return kernels::StageAParams{.k = k,
                                 .rows = rows,
                                 .splits = plan_.splits,
                                 .precision = precision,
                                 .threads = kStageAThreads,
                                 .tile_k = kStageATile};
  }

  void stage_a(std::string_view x, std::int64_t k, int rows, GemmPrecision precision) {
    add("stage_a", stage_a_params(k, rows, precision),
        {viewed(x, {r_.tokens, k}), as_given(r_.op == Op::mhc_pre_broadcast ? "fn_bcast" : "fn"),
         mix_, sqrsum_});
  }

  void big_fuse(kernels::BigFuseVariant v, std::string_view residual, std::string_view post_mix,
                std::string_view comb_mix) {
    const std::int64_t T = r_.tokens;
    const int n = c_.n();
    std::vector<Binding> args = {mix_, sqrsum_, as_given("scale"), as_given("base"),
                                 as_given(residual)};
    if (v != kernels::BigFuseVariant::plain) {
      args.push_back(as_given("norm_weight"));
    }
    if (v == kernels::BigFuseVariant::broadcast) {
      args.push_back(as_given("residual_out"));
    }
    args.push_back(viewed(post_mix, {T, n}));
    args.push_back(viewed(comb_mix, {T, n, n}));
    args.push_back(as_given("layer_input"));
    add("big_fuse", kernels::big_fuse_params(c_, plan_.splits, v), std::move(args));
  }

  void post(std::string_view residual, std::string_view out) {
    const std::int64_t T = r_.tokens;
    const int n = c_.n();
    add("post",
        kernels::PostParams{.hidden = c_.hidden,
                            .n = n,
                            .tile_h = tuned_.post_tile_h > 0 ? tuned_.post_tile_h
                                                             : post_tile_h(r_.target, T),
                            .threads = post_threads(r_.target)},
        {viewed("comb_mix", {T, n, n}), as_given(residual), viewed("post_mix", {T, n}),
         as_given("y"), as_given(out)});
  }

  void add(std::string_view label, KernelChoice params, std::vector<Binding> args) {
    plan_.launches.push_back(KernelLaunch{label, std::move(params), std::move(args)});
  }

  const PlanRequest& r_;
  const Config& c_;
  TuningChoice tuned_; ///< all policy unless the tuning table has an entry
  Plan plan_;
  Binding mix_, sqrsum_;
};

std::string binding_text(const Binding& b) {
  std::string s(b.tensor);
  if (b.rank > 0) {
    std::vector<std::string> dims;
    for (int i = 0; i < b.rank; ++i) {
      dims.push_back(std::to_string(b.shape[i]));
    }
    s += b.tensor == "workspace"
             ? fmt::format("[{}: {}[{}]]", b.offset, dtype_name(b.dtype), fmt::join(dims, ", "))
             : fmt::format(" as [{}]", fmt::join(dims, ", "));
  }
  return s;
}

} // namespace

// -- Kernel parameters --------------------------------------------------------------------------

std::string describe(const KernelChoice& params) {
  return std::visit(
      [](const auto& p) {
        using P = std::decay_t<decltype(p)>;
        const char* builder = std::is_same_v<P, kernels::StageAParams>         ? "stage_a"
                              : std::is_same_v<P, kernels::StageAMmaParams>    ? "stage_a_mma"
                              : std::is_same_v<P, kernels::BigFuseParams>      ? "big_fuse"
                              : std::is_same_v<P, kernels::PostParams>         ? "post"
                              : std::is_same_v<P, kernels::FusedPostParams>    ? "fused_post"
                              : std::is_same_v<P, kernels::PostStageAParams>   ? "post_stage_a"
                              : std::is_same_v<P, kernels::HeadCollapseParams> ? "head_collapse"
                              : std::is_same_v<P, kernels::HeadFusedParams>    ? "head_fused"
                                                                               : "sinkhorn";
        return fmt::format("{} {}", builder, kernels::describe(p));
      },
      params);
}

const ir::Kernel& traced_kernel(const KernelChoice& params) {
  // NOTES: tracing takes milliseconds, so every op call would pay it; and Runtime::compile finds
  // a compiled kernel by its IR (buffers by identity), so one trace per parameter set also means
  // one compile. Entries are never removed (one per configuration used, like the compile memo).
  static std::mutex mutex;
  static std::map<KernelChoice, ir::Kernel> traced;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (auto it = traced.find(params); it != traced.end()) {
      return it->second;
    }
  }
  ir::Kernel k = std::visit(
      [](const auto& p) {
        using P = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<P, kernels::StageAParams>) {
          return kernels::stage_a(p);
        } else if constexpr (std::is_same_v<P, kernels::StageAMmaParams>) {
          return kernels::stage_a_mma(p);
        } else if constexpr (std::is_same_v<P, kernels::BigFuseParams>) {
          return kernels::big_fuse(p);
        } else if constexpr (std::is_same_v<P, kernels::PostParams>) {
          return kernels::post(p);
        } else if constexpr (std::is_same_v<P, kernels::FusedPostParams>) {
          return kernels::fused_post(p);
        } else if constexpr (std::is_same_v<P, kernels::PostStageAParams>) {
          return kernels::post_stage_a(p);
        } else if constexpr (std::is_same_v<P, kernels::HeadCollapseParams>) {
          return kernels::head_collapse(p);
        } else if constexpr (std::is_same_v<P, kernels::HeadFusedParams>) {
          return kernels::head_fused(p);
        } else {
          return kernels::sinkhorn(p);
        }
      },
      params); // outside the lock; a concurrent trace of the same parameters is dropped below
  std::lock_guard<std::mutex> lock(mutex);
  return traced.emplace(params, std::move(k)).first->second;
}

// -- Targets and decisions ----------------------------------------------------------------------

PlanTarget target_for(MemoryKind memory, int device) {
  return memory == MemoryKind::host ? PlanTarget{Target::cpu, 0, std::nullopt, std::nullopt}
                                    : PlanTarget{Target::cuda, device, std::nullopt, std::nullopt};
}

bool use_stage_a_mma(std::int64_t tokens, std::int64_t k, GemmPrecision precision) {
  // TESSERA_MHC_STAGE_A=fma|mma|auto picks the stage-A kernel (read once): the per-token FMA
  // kernel, the token-tile tensor-core kernel (any T, either precision), or the default below.
  // It exists so the paths can be compared on a device without a rebuild.
  static const std::string mode = [] {
    const char* v = std::getenv("TESSERA_MHC_STAGE_A");
    return std::string(v ? v : "auto");
  }();
  if (mode == "fma") {
    return false;
  }
  if (mode != "mma" && mode != "auto") {
    throw UserError(fmt::format("TESSERA_MHC_STAGE_A={}: expected fma, mma or auto", mode));
  }
  if (mode == "mma") {
    return true;
  }
  // auto: the per-token kernel reads fn once per token (from L2), the tile once per 16-128
  // tokens; below the crossover the per-token kernel's one-token blocks spread a few tokens over
  // more SMs. fp32 runs the tile as split TF32 (two products per step), so it pays off later.
  if (precision == GemmPrecision::tf32) {
    return tokens * k >= kStageAMmaMinWork;
  }
  return tokens >= kStageAMmaFp32MinT;
}

int stage_a_block_m(std::int64_t tokens) {
  // TESSERA_MHC_STAGE_A_BLOCK_M (16, 32, 64 or 128): a fixed token tile, for measurements.
  static const std::int64_t forced = override_or("TESSERA_MHC_STAGE_A_BLOCK_M", 0, 0, 128);
  if (forced != 0) {
    if (forced != 16 && forced != 32 && forced != 64 && forced != 128) {
      throw UserError(
          fmt::format("TESSERA_MHC_STAGE_A_BLOCK_M={}: expected 16, 32, 64 or 128", forced));
    }
    return static_cast<int>(forced);
  }
  if (tokens <= 32) {
    return tokens <= 16 ? 16 : 32; // decode-sized tiles: no MMA rows spent on absent tokens
  }
  return tokens <= 64 ? 64 : 128;
}

int num_splits_for(const Config& c, std::int64_t tokens, std::int64_t k, int sm_count,
                   bool tile_kernel) {
  if (c.split.kind == SplitPolicy::Kind::fixed) {
    return c.split.splits;
  }
  if (tile_kernel) {
    // Two blocks fit on an SM (three 28 KB ring stages each): split K until the token tiles
    // fill that once — never more blocks than one wave, whose tail would idle most SMs — and
    // keep at least 4 K tiles per split.
    const std::int64_t tiles = (tokens + stage_a_block_m(tokens) - 1) / stage_a_block_m(tokens);
    const std::int64_t max_splits = std::max<std::int64_t>(1, (k / kSplitBlockK) / 4);
    const std::int64_t s = (2 * static_cast<std::int64_t>(sm_count)) / tiles;
    return static_cast<int>(std::clamp<std::int64_t>(s, 1, max_splits));
  }
  int s = resolve_num_splits(c, sm_count, tokens, k);
  const std::int64_t cap = std::max<std::int64_t>(1, k / kStageATile);
  return static_cast<int>(std::min<std::int64_t>(s, cap));
}

int post_stage_a_splits(const Config& c, std::int64_t tokens, int sm_count) {
  if (c.split.kind == SplitPolicy::Kind::fixed) {
    return c.split.splits;
  }
  const std::int64_t bm = stage_a_block_m(tokens);
  const std::int64_t tiles = (tokens + bm - 1) / bm;
  const std::int64_t h_tiles =
      (c.hidden + kernels::kPostStageATileH - 1) / kernels::kPostStageATileH;
  return static_cast<int>(std::clamp<std::int64_t>(sm_count / tiles, 1, h_tiles));
}

// -- Plans --------------------------------------------------------------------------------------

Plan make_plan(const PlanRequest& request) {
  request.config.validate();
  if (request.tokens < 0) {
    throw UserError(fmt::format("mhc plan: tokens must be >= 0, got {}", request.tokens));
  }
  return PlanBuilder(request).build();
}

std::string describe(const Plan& plan) {
  const Config& c = plan.config;
  std::string s = fmt::format("{}: T={} H={} n={} S={}", op_name(plan.op), plan.tokens, c.hidden,
                              c.n(), plan.splits);
  if (plan.workspace.total_bytes > 0) {
    s += fmt::format(", workspace {} bytes (partial_mix at {}, partial_sqrsum at {})",
                     plan.workspace.total_bytes, plan.workspace.mix_offset,
                     plan.workspace.sqrsum_offset);
  }
  s += "\n";
  for (std::size_t i = 0; i < plan.launches.size(); ++i) {
    const KernelLaunch& k = plan.launches[i];
    std::vector<std::string> args;
    for (const Binding& b : k.args) {
      args.push_back(binding_text(b));
    }
    s += fmt::format("  {}. {}: {}\n     ({})\n", i + 1, k.label, describe(k.params),
                     fmt::join(args, ", "));
  }
  return s;
}

} // namespace tessera::mhc
