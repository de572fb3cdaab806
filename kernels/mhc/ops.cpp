#include "kernels/mhc/ops.h"

#include "base/error.h"
#include "kernels/mhc/kernels.h"
#include "kernels/mhc/launch.h"
#include "kernels/mhc/registry.h"
#include "runtime/device.h"

#include <algorithm>
#include <fmt/format.h>
#include <thread>

namespace tessera::mhc {

namespace {

using internal::LaunchEnv;

constexpr int kStageAThreads = 256;
constexpr int kStageATile = 1024; // K elements per block iteration (4 per thread)

std::int64_t first_dim(const TensorView& t) {
  return t.rank() >= 1 ? t.size(0) : 0;
}

TensorView reshape(const TensorView& t, std::initializer_list<std::int64_t> shape) {
  return TensorView(t.data(), t.dtype(), shape, t.memory(), t.device());
}

struct Partials {
  TensorView mix, sqrsum;
};

Partials carve(const Config& c, const TensorView& ws, std::int64_t tokens, int splits, int rows) {
  const WorkspaceLayout l = workspace_layout(c, tokens, splits);
  auto* base = static_cast<char*>(ws.data());
  return {
      TensorView(base + l.mix_offset, DType::f32, {splits, tokens, rows}, ws.memory(), ws.device()),
      TensorView(base + l.sqrsum_offset, DType::f32, {splits, tokens}, ws.memory(), ws.device())};
}

void run_stage_a(const Config& c, const TensorView& x, const TensorView& fn, std::int64_t k,
                 int rows, const Partials& out, const LaunchEnv& env) {
  const std::int64_t T = x.size(0);
  const int splits = static_cast<int>(out.mix.size(0));
  if (use_stage_a_mma(T, rows)) {
    const kernels::StageAMmaParams p{
        .k = k, .rows = rows, .splits = splits, .precision = c.gemm_precision};
    auto kernel = internal::get_kernel("stage_a_mma " + kernels::describe(p), env,
                                       [&] { return kernels::stage_a_mma(p); });
    internal::launch(*kernel, env, {x, fn, out.mix, out.sqrsum});
    return;
  }
  const kernels::StageAParams p{.k = k,
                                .rows = rows,
                                .splits = splits,
                                .precision = c.gemm_precision,
                                .threads = kStageAThreads,
                                .tile_k = kStageATile};
  auto kernel = internal::get_kernel("stage_a " + kernels::describe(p), env,
                                     [&] { return kernels::stage_a(p); });
  internal::launch(*kernel, env, {x, fn, out.mix, out.sqrsum});
}

void run_big_fuse(const Config& c, kernels::BigFuseVariant v, const Partials& in,
                  const TensorView& scale, const TensorView& base, const TensorView& residual,
                  const std::optional<TensorView>& norm_weight,
                  const std::optional<TensorView>& residual_out, const TensorView& post_mix,
                  const TensorView& comb_mix, const TensorView& layer_input, const LaunchEnv& env) {
  const std::int64_t T = in.mix.size(1);
  const int n = c.hc_mult;
  const kernels::BigFuseParams p = kernels::big_fuse_params(c, static_cast<int>(in.mix.size(0)), v);
  auto kernel = internal::get_kernel("big_fuse " + kernels::describe(p), env,
                                     [&] { return kernels::big_fuse(p); });
  const TensorView post = reshape(post_mix, {T, n});
  const TensorView comb = reshape(comb_mix, {T, n, n});
  switch (v) {
  case kernels::BigFuseVariant::plain:
    internal::launch(*kernel, env,
                     {in.mix, in.sqrsum, scale, base, residual, post, comb, layer_input});
    break;
  case kernels::BigFuseVariant::norm:
    internal::launch(
        *kernel, env,
        {in.mix, in.sqrsum, scale, base, residual, *norm_weight, post, comb, layer_input});
    break;
  case kernels::BigFuseVariant::broadcast:
    internal::launch(*kernel, env,
                     {in.mix, in.sqrsum, scale, base, residual, *norm_weight, *residual_out, post,
                      comb, layer_input});
    break;
  }
}

void run_post(const Config& c, std::int64_t T, const TensorView& y, const TensorView& residual,
              const TensorView& post_mix, const TensorView& comb_mix, const TensorView& out,
              const LaunchEnv& env) {
  const int n = c.hc_mult;
  const kernels::PostParams p{.hidden = c.hidden, .n = n, .tile_h = post_tile_h(T)};
  auto kernel =
      internal::get_kernel("post " + kernels::describe(p), env, [&] { return kernels::post(p); });
  internal::launch(*kernel, env,
                   {reshape(comb_mix, {T, n, n}), residual, reshape(post_mix, {T, n}), y, out});
}

/** Host tensors run on the CPU backend; device tensors on their GPU. */
LaunchEnv env_for(const TensorView& first, CUstream stream) {
  const bool cpu = first.memory() == MemoryKind::host;
  return LaunchEnv{stream, first.device(), true, cpu};
}

/** The device argument of the *_num_splits queries for `first`'s memory (-1: host). */
int device_of(const TensorView& first) {
  return first.memory() == MemoryKind::host ? -1 : first.device();
}

kernels::BigFuseVariant pre_variant(const Config& c) {
  return c.norm_eps ? kernels::BigFuseVariant::norm : kernels::BigFuseVariant::plain;
}

} // namespace

int num_splits_for(const Config& c, std::int64_t tokens, std::int64_t k, int sm_count) {
  int s = resolve_num_splits(c, sm_count, tokens, k);
  if (c.split.kind == SplitPolicy::Kind::automatic && !use_stage_a_mma(tokens, c.mix_count())) {
    const std::int64_t cap = std::max<std::int64_t>(1, k / kStageATile);
    s = static_cast<int>(std::min<std::int64_t>(s, cap));
  }
  return s;
}

namespace {
/** SMs of `device`; for the CPU backend (device < 0) the host's hardware threads. */
int sm_count_of(const Config& config, int device) {
  if (config.split.kind == SplitPolicy::Kind::fixed) {
    return 1;
  }
  if (device < 0) {
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  return device_info(device).sm_count;
}
} // namespace

int pre_num_splits(const Config& config, std::int64_t tokens, int device) {
  config.validate();
  return num_splits_for(config, tokens, config.k(), sm_count_of(config, device));
}

int pre_broadcast_num_splits(const Config& config, std::int64_t tokens, int device) {
  config.validate();
  return num_splits_for(config, tokens, config.hidden, sm_count_of(config, device));
}

int fused_post_pre_num_splits(const Config& config, std::int64_t tokens, int device) {
  config.validate();
  return tokens <= kFusedSmallT ? fused_small_splits(config, tokens)
                                : pre_num_splits(config, tokens, device);
}

int head_num_splits(const Config& config, std::int64_t tokens, int device) {
  return pre_num_splits(config, tokens, device);
}

std::int64_t pre_workspace_bytes(const Config& config, std::int64_t tokens, int device) {
  return tokens == 0 ? 0 : workspace_bytes(config, tokens, pre_num_splits(config, tokens, device));
}
std::int64_t pre_broadcast_workspace_bytes(const Config& config, std::int64_t tokens, int device) {
  return tokens == 0
             ? 0
             : workspace_bytes(config, tokens, pre_broadcast_num_splits(config, tokens, device));
}
std::int64_t fused_post_pre_workspace_bytes(const Config& config, std::int64_t tokens, int device) {
  return tokens == 0
             ? 0
             : workspace_bytes(config, tokens, fused_post_pre_num_splits(config, tokens, device));
}
std::int64_t head_workspace_bytes(const Config& config, std::int64_t tokens, int device) {
  return tokens == 0 ? 0 : workspace_bytes(config, tokens, head_num_splits(config, tokens, device));
}

void mhc_pre(const Config& config, const PreArgs& args, CUstream stream) {
  const std::int64_t t0 = first_dim(args.residual);
  const int S = t0 == 0 ? 1 : pre_num_splits(config, t0, device_of(args.residual));
  const std::int64_t T = validate_pre(config, args, S, args.residual.memory());
  if (T == 0) {
    return;
  }
  const LaunchEnv env = env_for(args.residual, stream);
  const Partials part = carve(config, args.workspace, T, S, config.mix_count());
  run_stage_a(config, reshape(args.residual, {T, config.k()}), args.fn, config.k(),
              config.mix_count(), part, env);
  run_big_fuse(config, pre_variant(config), part, args.scale, args.base, args.residual,
               args.norm_weight, std::nullopt, args.post_mix, args.comb_mix, args.layer_input, env);
}

void mhc_pre_broadcast(const Config& config, const PreBroadcastArgs& args, CUstream stream) {
  const std::int64_t t0 = first_dim(args.embedding);
  const int S = t0 == 0 ? 1 : pre_broadcast_num_splits(config, t0, device_of(args.embedding));
  const std::int64_t T = validate_pre_broadcast(config, args, S, args.embedding.memory());
  if (T == 0) {
    return;
  }
  const LaunchEnv env = env_for(args.embedding, stream);
  const Partials part = carve(config, args.workspace, T, S, config.mix_count());
  run_stage_a(config, args.embedding, args.fn_bcast, config.hidden, config.mix_count(), part, env);
  run_big_fuse(config, kernels::BigFuseVariant::broadcast, part, args.scale, args.base,
               args.embedding, args.norm_weight, args.residual_out, args.post_mix, args.comb_mix,
               args.layer_input, env);
}

void mhc_post(const Config& config, const PostArgs& args, CUstream stream) {
  const std::int64_t T = validate_post(config, args, args.y.memory());
  if (T == 0) {
    return;
  }
  const LaunchEnv env = env_for(args.y, stream);
  run_post(config, T, args.y, args.residual, args.post_mix, args.comb_mix, args.out, env);
}

void mhc_fused_post_pre(const Config& config, const FusedPostPreArgs& args, CUstream stream) {
  const std::int64_t t0 = first_dim(args.y);
  const int S = t0 == 0 ? 1 : fused_post_pre_num_splits(config, t0, device_of(args.y));
  const std::int64_t T = validate_fused_post_pre(config, args, S, args.y.memory());
  if (T == 0) {
    return;
  }
  const int n = config.hc_mult;
  const int M = config.mix_count();
  const LaunchEnv env = env_for(args.y, stream);
  const Partials part = carve(config, args.workspace, T, S, M);
  if (T <= kFusedSmallT) {
    const kernels::FusedPostParams p{.hidden = config.hidden, .n = n, .splits = S};
    auto kernel = internal::get_kernel("fused_post " + kernels::describe(p), env,
                                       [&] { return kernels::fused_post(p); });
    internal::launch(*kernel, env,
                     {args.y, args.residual, reshape(args.post_mix, {T, n}),
                      reshape(args.comb_mix, {T, n, n}), reshape(args.fn, {M, n, config.hidden}),
                      args.residual_out, part.mix, part.sqrsum});
  } else {
    run_post(config, T, args.y, args.residual, args.post_mix, args.comb_mix, args.residual_out,
             env);
    run_stage_a(config, reshape(args.residual_out, {T, config.k()}), args.fn, config.k(), M, part,
                env);
  }
  run_big_fuse(config, pre_variant(config), part, args.scale, args.base, args.residual_out,
               args.norm_weight, std::nullopt, args.post_mix_out, args.comb_mix_out,
               args.layer_input, env);
}

void hc_head(const Config& config, const HeadArgs& args, const TensorView& workspace,
             CUstream stream) {
  const std::int64_t T = validate_head(config, args, args.residual.memory());
  if (T == 0) {
    return;
  }
  const int S = head_num_splits(config, T, device_of(args.residual));
  const std::int64_t need = workspace_bytes(config, T, S);
  if (workspace.nbytes() < need || workspace.data() == nullptr ||
      reinterpret_cast<std::uintptr_t>(workspace.data()) % 16 != 0 ||
      workspace.memory() != args.residual.memory()) {
    throw UserError(fmt::format("hc_head: argument 'workspace': expected a 16-byte aligned "
                                "buffer of at least {} bytes in the residual's memory, got {}",
                                need, workspace.describe()));
  }
  const int n = config.hc_mult;
  const LaunchEnv env = env_for(args.residual, stream);
  const Partials part = carve(config, workspace, T, S, n);
  // hc_head's projection is full fp32 (spec §3.8), whatever config.gemm_precision says.
  Config fp32 = config;
  fp32.gemm_precision = GemmPrecision::fp32;
  run_stage_a(fp32, reshape(args.residual, {T, config.k()}), args.fn, config.k(), n, part, env);
  const kernels::HeadCollapseParams p{.hidden = config.hidden,
                                      .n = n,
                                      .splits = S,
                                      .rms_eps = config.rms_eps,
                                      .hc_eps = config.hc_pre_eps};
  auto kernel = internal::get_kernel("head_collapse " + kernels::describe(p), env,
                                     [&] { return kernels::head_collapse(p); });
  internal::launch(*kernel, env,
                   {part.mix, part.sqrsum, args.scale, args.base, args.residual, args.out});
}

void sinkhorn(const Config& config, const SinkhornArgs& args, CUstream stream) {
  const std::int64_t T = validate_sinkhorn(config, args, args.logits.memory());
  if (T == 0) {
    return;
  }
  const int n = config.hc_mult;
  const LaunchEnv env = env_for(args.logits, stream);
  const kernels::SinkhornParams p{
      .n = n, .iters = config.sinkhorn_iters, .eps = config.hc_sinkhorn_eps};
  auto kernel = internal::get_kernel("sinkhorn " + kernels::describe(p), env,
                                     [&] { return kernels::sinkhorn(p); });
  internal::launch(*kernel, env, {reshape(args.logits, {T, n, n}), reshape(args.comb, {T, n, n})});
}

void stage_a(const Config& config, const StageAArgs& args, std::int64_t k, CUstream stream) {
  const int S = args.partial_mix.rank() >= 1 ? static_cast<int>(args.partial_mix.size(0)) : 1;
  const std::int64_t T = validate_stage_a(config, args, k, S, args.x.memory());
  if (T == 0) {
    return;
  }
  const LaunchEnv env = env_for(args.x, stream);
  run_stage_a(config, args.x, args.fn, k, config.mix_count(),
              {args.partial_mix, args.partial_sqrsum}, env);
}

void big_fuse(const Config& config, const BigFuseArgs& args, CUstream stream) {
  const int S = args.partial_mix.rank() >= 1 ? static_cast<int>(args.partial_mix.size(0)) : 1;
  const std::int64_t T = validate_big_fuse(config, args, S, args.residual.memory());
  if (T == 0) {
    return;
  }
  const LaunchEnv env = env_for(args.residual, stream);
  run_big_fuse(config, pre_variant(config), {args.partial_mix, args.partial_sqrsum}, args.scale,
               args.base, args.residual, args.norm_weight, std::nullopt, args.post_mix,
               args.comb_mix, args.layer_input, env);
}

} // namespace tessera::mhc
