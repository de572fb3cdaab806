#include "kernels/mhc/ops.h"

#include "base/error.h"
#include "jit/compiled_kernel.h"
#include "kernels/mhc/plan.h"
#include "runtime/device.h"

#include <array>
#include <fmt/format.h>
#include <map>
#include <mutex>

namespace tessera::mhc {

namespace {

std::int64_t first_dim(const TensorView& t) {
  return t.rank() >= 1 ? t.size(0) : 0;
}

/** The plan of `op` for the tokens in `first` and the memory it lives in. */
Plan plan_for(Op op, const Config& config, const TensorView& first, int splits = 0) {
  return make_plan({.op = op,
                    .config = config,
                    .tokens = first_dim(first),
                    .target = target_for(first.memory(), first.device()),
                    .splits = splits});
}

/** The device argument of the queries (-1: the CPU backend) as a plan target. */
PlanTarget query_target(int device) {
  return device < 0 ? target_for(MemoryKind::host) : target_for(MemoryKind::cuda, device);
}

Plan query_plan(Op op, const Config& config, std::int64_t tokens, int device) {
  return make_plan({.op = op, .config = config, .tokens = tokens, .target = query_target(device)});
}

/** Whether launches on `device` use programmatic dependent launch (sm_90+), cached. */
bool pdl_supported(int device) {
  static std::mutex mutex;
  static std::map<int, bool> known;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = known.find(device);
  if (it == known.end()) {
    it = known.emplace(device, device_info(device).cc_major >= 9).first;
  }
  return it->second;
}

const TensorView* find(std::span<const NamedTensor> tensors, std::string_view name) {
  for (const NamedTensor& t : tensors) {
    if (t.name == name) {
      return &t.view;
    }
  }
  return nullptr;
}

/** The view a binding gives its kernel parameter. */
TensorView bound_view(const Binding& b, std::span<const NamedTensor> tensors) {
  const TensorView* t = find(tensors, b.tensor);
  if (t == nullptr) {
    throw InternalError(fmt::format("mhc plan binds '{}', which the op does not have", b.tensor));
  }
  if (b.rank == 0) {
    return *t;
  }
  const std::span<const std::int64_t> shape(b.shape.data(), b.rank);
  if (b.tensor == "workspace") {
    return TensorView(static_cast<char*>(t->data()) + b.offset, b.dtype, shape, t->memory(),
                      t->device());
  }
  return TensorView(t->data(), t->dtype(), shape, t->memory(), t->device());
}

/**
 * Launches every kernel of `plan` on its tensors (validated by the caller): host tensors on
 * the CPU backend (synchronously), device tensors on their GPU, enqueued on `stream`.
 */
void launch(const Plan& plan, std::initializer_list<NamedTensor> tensors, CUstream stream) {
  const TensorView& first = tensors.begin()->view;
  const bool cpu = first.memory() == MemoryKind::host;
  JitOptions options;
  options.target = cpu ? Target::cpu : Target::cuda;
  options.device = cpu ? 0 : first.device();
  const KernelLaunchOptions launch_options{stream, !cpu && pdl_supported(first.device())};
  const std::span<const NamedTensor> named(tensors.begin(), tensors.size());
  constexpr std::size_t kMaxArgs = 16;
  std::array<TensorView, kMaxArgs> views;
  std::array<KernelArg, kMaxArgs> args;
  for (const KernelLaunch& k : plan.launches) {
    if (k.args.size() > kMaxArgs) {
      throw InternalError(fmt::format("mhc launch {}: {} arguments", k.label, k.args.size()));
    }
    for (std::size_t i = 0; i < k.args.size(); ++i) {
      views[i] = bound_view(k.args[i], named);
      args[i] = KernelArg::from(views[i]);
    }
    Runtime::compile(k.kernel(), options)
        .launch_args(launch_options, std::span<const KernelArg>(args.data(), k.args.size()));
  }
}

TensorView optional(const std::optional<TensorView>& t) {
  return t.value_or(TensorView());
}

} // namespace

int pre_num_splits(const Config& config, std::int64_t tokens, int device) {
  return query_plan(Op::mhc_pre, config, tokens, device).splits;
}
int pre_broadcast_num_splits(const Config& config, std::int64_t tokens, int device) {
  return query_plan(Op::mhc_pre_broadcast, config, tokens, device).splits;
}
int fused_post_pre_num_splits(const Config& config, std::int64_t tokens, int device) {
  return query_plan(Op::mhc_fused_post_pre, config, tokens, device).splits;
}
int head_num_splits(const Config& config, std::int64_t tokens, int device) {
  return query_plan(Op::hc_head, config, tokens, device).splits;
}

std::int64_t pre_workspace_bytes(const Config& config, std::int64_t tokens, int device) {
  return query_plan(Op::mhc_pre, config, tokens, device).workspace.total_bytes;
}
std::int64_t pre_broadcast_workspace_bytes(const Config& config, std::int64_t tokens, int device) {
  return query_plan(Op::mhc_pre_broadcast, config, tokens, device).workspace.total_bytes;
}
std::int64_t fused_post_pre_workspace_bytes(const Config& config, std::int64_t tokens, int device) {
  return query_plan(Op::mhc_fused_post_pre, config, tokens, device).workspace.total_bytes;
}
std::int64_t head_workspace_bytes(const Config& config, std::int64_t tokens, int device) {
  return query_plan(Op::hc_head, config, tokens, device).workspace.total_bytes;
}

void mhc_pre(const Config& config, const PreArgs& args, CUstream stream) {
  const Plan plan = plan_for(Op::mhc_pre, config, args.residual);
  if (validate_pre(config, args, plan.splits, args.residual.memory()) == 0) {
    return;
  }
  launch(plan,
         {{"residual", args.residual},
          {"fn", args.fn},
          {"scale", args.scale},
          {"base", args.base},
          {"norm_weight", optional(args.norm_weight)},
          {"post_mix", args.post_mix},
          {"comb_mix", args.comb_mix},
          {"layer_input", args.layer_input},
          {"workspace", args.workspace}},
         stream);
}

void mhc_pre_broadcast(const Config& config, const PreBroadcastArgs& args, CUstream stream) {
  const Plan plan = plan_for(Op::mhc_pre_broadcast, config, args.embedding);
  if (validate_pre_broadcast(config, args, plan.splits, args.embedding.memory()) == 0) {
    return;
  }
  launch(plan,
         {{"embedding", args.embedding},
          {"fn_bcast", args.fn_bcast},
          {"scale", args.scale},
          {"base", args.base},
          {"norm_weight", args.norm_weight},
          {"residual_out", args.residual_out},
          {"post_mix", args.post_mix},
          {"comb_mix", args.comb_mix},
          {"layer_input", args.layer_input},
          {"workspace", args.workspace}},
         stream);
}

void mhc_post(const Config& config, const PostArgs& args, CUstream stream) {
  const Plan plan = plan_for(Op::mhc_post, config, args.y);
  if (validate_post(config, args, args.y.memory()) == 0) {
    return;
  }
  launch(plan,
         {{"y", args.y},
          {"residual", args.residual},
          {"post_mix", args.post_mix},
          {"comb_mix", args.comb_mix},
          {"out", args.out}},
         stream);
}

void mhc_fused_post_pre(const Config& config, const FusedPostPreArgs& args, CUstream stream) {
  const Plan plan = plan_for(Op::mhc_fused_post_pre, config, args.y);
  if (validate_fused_post_pre(config, args, plan.splits, args.y.memory()) == 0) {
    return;
  }
  launch(plan,
         {{"y", args.y},
          {"residual", args.residual},
          {"post_mix", args.post_mix},
          {"comb_mix", args.comb_mix},
          {"fn", args.fn},
          {"scale", args.scale},
          {"base", args.base},
          {"norm_weight", optional(args.norm_weight)},
          {"residual_out", args.residual_out},
          {"post_mix_out", args.post_mix_out},
          {"comb_mix_out", args.comb_mix_out},
          {"layer_input", args.layer_input},
          {"workspace", args.workspace}},
         stream);
}

void hc_head(const Config& config, const HeadArgs& args, const TensorView& workspace,
             CUstream stream) {
  // Validated before planning: the head's checks do not depend on S.
  if (validate_head(config, args, args.residual.memory()) == 0) {
    return;
  }
  const Plan plan = plan_for(Op::hc_head, config, args.residual);
  const std::int64_t need = plan.workspace.total_bytes;
  if (workspace.nbytes() < need || workspace.data() == nullptr ||
      reinterpret_cast<std::uintptr_t>(workspace.data()) % 16 != 0 ||
      workspace.memory() != args.residual.memory()) {
    throw UserError(fmt::format("hc_head: argument 'workspace': expected a 16-byte aligned "
                                "buffer of at least {} bytes in the residual's memory, got {}",
                                need, workspace.describe()));
  }
  launch(plan,
         {{"residual", args.residual},
          {"fn", args.fn},
          {"scale", args.scale},
          {"base", args.base},
          {"out", args.out},
          {"workspace", workspace}},
         stream);
}

void sinkhorn(const Config& config, const SinkhornArgs& args, CUstream stream) {
  const Plan plan = plan_for(Op::sinkhorn, config, args.logits);
  if (validate_sinkhorn(config, args, args.logits.memory()) == 0) {
    return;
  }
  launch(plan, {{"logits", args.logits}, {"comb", args.comb}}, stream);
}

void stage_a(const Config& config, const StageAArgs& args, std::int64_t k, CUstream stream) {
  const int S = args.partial_mix.rank() >= 1 ? static_cast<int>(args.partial_mix.size(0)) : 1;
  if (validate_stage_a(config, args, k, S, args.x.memory()) == 0) {
    return;
  }
  PlanRequest request{.op = Op::stage_a,
                      .config = config,
                      .tokens = first_dim(args.x),
                      .target = target_for(args.x.memory(), args.x.device()),
                      .splits = S,
                      .k = k};
  launch(make_plan(request),
         {{"x", args.x},
          {"fn", args.fn},
          {"partial_mix", args.partial_mix},
          {"partial_sqrsum", args.partial_sqrsum}},
         stream);
}

void big_fuse(const Config& config, const BigFuseArgs& args, CUstream stream) {
  const int S = args.partial_mix.rank() >= 1 ? static_cast<int>(args.partial_mix.size(0)) : 1;
  if (validate_big_fuse(config, args, S, args.residual.memory()) == 0) {
    return;
  }
  launch(plan_for(Op::big_fuse, config, args.residual, S),
         {{"residual", args.residual},
          {"partial_mix", args.partial_mix},
          {"partial_sqrsum", args.partial_sqrsum},
          {"scale", args.scale},
          {"base", args.base},
          {"norm_weight", optional(args.norm_weight)},
          {"post_mix", args.post_mix},
          {"comb_mix", args.comb_mix},
          {"layer_input", args.layer_input}},
         stream);
}

void call_op(Op op, const Config& config, std::span<const NamedTensor> tensors,
             const TensorView& workspace, CUstream stream) {
  const auto get = [&](std::string_view name) {
    const TensorView* t = find(tensors, name);
    if (t == nullptr) {
      throw UserError(fmt::format("{}: no tensor named '{}'", op_name(op), name));
    }
    return *t;
  };
  const auto get_optional = [&](std::string_view name) {
    const TensorView* t = find(tensors, name);
    return t ? std::optional<TensorView>(*t) : std::nullopt;
  };
  switch (op) {
  case Op::mhc_pre:
    mhc_pre(config,
            {.residual = get("residual"),
             .fn = get("fn"),
             .scale = get("scale"),
             .base = get("base"),
             .norm_weight = get_optional("norm_weight"),
             .post_mix = get("post_mix"),
             .comb_mix = get("comb_mix"),
             .layer_input = get("layer_input"),
             .workspace = workspace},
            stream);
    return;
  case Op::mhc_pre_broadcast:
    mhc_pre_broadcast(config,
                      {.embedding = get("embedding"),
                       .fn_bcast = get("fn_bcast"),
                       .scale = get("scale"),
                       .base = get("base"),
                       .norm_weight = get("norm_weight"),
                       .residual_out = get("residual_out"),
                       .post_mix = get("post_mix"),
                       .comb_mix = get("comb_mix"),
                       .layer_input = get("layer_input"),
                       .workspace = workspace},
                      stream);
    return;
  case Op::mhc_post:
    mhc_post(config,
             {.y = get("y"),
              .residual = get("residual"),
              .post_mix = get("post_mix"),
              .comb_mix = get("comb_mix"),
              .out = get("out")},
             stream);
    return;
  case Op::mhc_fused_post_pre:
    mhc_fused_post_pre(config,
                       {.y = get("y"),
                        .residual = get("residual"),
                        .post_mix = get("post_mix"),
                        .comb_mix = get("comb_mix"),
                        .fn = get("fn"),
                        .scale = get("scale"),
                        .base = get("base"),
                        .norm_weight = get_optional("norm_weight"),
                        .residual_out = get("residual_out"),
                        .post_mix_out = get("post_mix_out"),
                        .comb_mix_out = get("comb_mix_out"),
                        .layer_input = get("layer_input"),
                        .workspace = workspace},
                       stream);
    return;
  case Op::hc_head:
    hc_head(config,
            {.residual = get("residual"),
             .fn = get("fn"),
             .scale = get("scale"),
             .base = get("base"),
             .out = get("out")},
            workspace, stream);
    return;
  case Op::sinkhorn:
    sinkhorn(config, {.logits = get("logits"), .comb = get("comb")}, stream);
    return;
  case Op::stage_a:
    stage_a(config,
            {.x = get("x"),
             .fn = get("fn"),
             .partial_mix = get("partial_mix"),
             .partial_sqrsum = get("partial_sqrsum")},
            config.k(), stream);
    return;
  case Op::big_fuse:
    big_fuse(config,
             {.partial_mix = get("partial_mix"),
              .partial_sqrsum = get("partial_sqrsum"),
              .scale = get("scale"),
              .base = get("base"),
              .residual = get("residual"),
              .norm_weight = get_optional("norm_weight"),
              .post_mix = get("post_mix"),
              .comb_mix = get("comb_mix"),
              .layer_input = get("layer_input")},
             stream);
    return;
  }
  throw InternalError(fmt::format("mhc::call_op: unknown op {}", static_cast<int>(op)));
}

} // namespace tessera::mhc
