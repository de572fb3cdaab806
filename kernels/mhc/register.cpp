#include "kernels/mhc/register.h"

#include "base/error.h"

#include <algorithm>
#include <fmt/format.h>

namespace tessera::mhc {

namespace {

/** The ops `tessera emit` knows (the stages alone are part of them). */
constexpr Op kRegisteredOps[] = {Op::mhc_pre,  Op::mhc_pre_broadcast,
                                 Op::mhc_post, Op::mhc_fused_post_pre,
                                 Op::hc_head,  Op::sinkhorn};

std::vector<std::string> labels_of(const Plan& plan) {
  std::vector<std::string> labels;
  for (const KernelLaunch& k : plan.launches) {
    labels.emplace_back(k.label);
  }
  return labels;
}

/** The labels of `small` and `large` merged in launch order: a label of `large` that `small`
 * lacks goes before the first shared label it precedes. */
std::vector<std::string> merge_labels(const std::vector<std::string>& small,
                                      const std::vector<std::string>& large) {
  std::vector<std::string> out;
  auto has = [&](const std::string& l) {
    return std::find(out.begin(), out.end(), l) != out.end();
  };
  for (const std::string& l : small) {
    const auto at = std::find(large.begin(), large.end(), l);
    for (auto it = large.begin(); it != at && at != large.end(); ++it) {
      if (!has(*it)) {
        out.push_back(*it);
      }
    }
    out.push_back(l);
  }
  for (const std::string& l : large) {
    if (!has(l)) {
      out.push_back(l);
    }
  }
  return out;
}

// The GPU generations whose plans differ: sm_90+ (clusters) and sm_80.
constexpr int kPlanCcMajors[] = {9, 8};

/** Every label `op` may launch: its plans on both sides of the small-T regime, on each GPU
 * generation. */
std::vector<std::string> op_labels(Op op) {
  Config c;
  c.hidden = 4096;
  if (op == Op::mhc_pre_broadcast) {
    c.norm_eps = 1e-6f;
  }
  std::vector<std::string> out;
  for (const int cc : kPlanCcMajors) {
    const auto plan_at = [&](std::int64_t T) {
      return labels_of(make_plan(
          {.op = op, .config = c, .tokens = T, .target = gpu_target(kReferenceSmCount, 0, cc)}));
    };
    out = merge_labels(out, merge_labels(plan_at(1), plan_at(kFusedSmallT + 1)));
  }
  return out;
}

Config config_from(Op op, const KernelParams& p) {
  Config c;
  c.hidden = p.integer("hidden");
  c.hc_mult = p.integer("hc_mult");
  c.sinkhorn_iters = p.integer("iters");
  c.gemm_precision = p.integer("precision") ? GemmPrecision::fp32 : GemmPrecision::tf32;
  if (p.integer("norm") || op == Op::mhc_pre_broadcast) {
    c.norm_eps = 1e-6f;
  }
  if (p.integer("splits") > 0) {
    c.split = SplitPolicy::fixed(p.integer("splits"));
  }
  return c;
}

Plan plan_at(Op op, const KernelParams& p, std::int64_t tokens, int cc_major = 9) {
  // T = 0 launches nothing; show the kernels of T = 1.
  return make_plan({.op = op,
                    .config = config_from(op, p),
                    .tokens = std::max<std::int64_t>(tokens, 1),
                    .target = gpu_target(kReferenceSmCount, 0, cc_major)});
}

ir::Kernel build_entry(Op op, const std::string& label, const KernelParams& p) {
  // A fused post+pre kernel exists in one regime only, hc_head's two-kernel form on sm_80
  // only: take the plan that has it.
  for (const int cc : kPlanCcMajors) {
    for (std::int64_t T : {std::int64_t{p.integer("tokens")}, std::int64_t{1}, kFusedSmallT + 1}) {
      for (const KernelLaunch& k : plan_at(op, p, T, cc).launches) {
        if (k.label == label) {
          return k.kernel();
        }
      }
    }
  }
  throw UserError(fmt::format("{}.{}: no such kernel", op_name(op), label));
}

} // namespace

std::vector<std::string> mhc_kernel_entries(const std::string& op) {
  for (Op o : kRegisteredOps) {
    if (op == op_name(o)) {
      std::vector<std::string> out;
      for (const std::string& l : op_labels(o)) {
        out.push_back(op + "." + l);
      }
      return out;
    }
  }
  return {};
}

Plan registry_plan(const std::string& op, const KernelParams& params) {
  const Op o = parse_op(op);
  return plan_at(o, params, params.integer("tokens"));
}

void register_kernels(KernelRegistry& registry) {
  const std::vector<KernelParam> params = {
      {"hidden", KernelParam::Type::integer, 7168, "hidden size H"},
      {"hc_mult", KernelParam::Type::integer, 4, "residual streams n"},
      {"tokens", KernelParam::Type::integer, 1, "token count the kernels are chosen for"},
      {"splits", KernelParam::Type::integer, 0,
       fmt::format("stage-A splits (0: automatic, {} SMs)", kReferenceSmCount)},
      {"norm", KernelParam::Type::integer, 0, "1: fused RMSNorm of the layer input"},
      {"iters", KernelParam::Type::integer, 20, "Sinkhorn iterations"},
      {"precision", KernelParam::Type::integer, 0, "stage-A GEMM: 0 tf32, 1 fp32"},
  };
  for (Op op : kRegisteredOps) {
    for (const std::string& label : op_labels(op)) {
      registry.add(KernelEntry{
          fmt::format("{}.{}", op_name(op), label),
          fmt::format("mHC {}: the {} kernel (docs/mhc.md)", op_name(op), label), params,
          [op, label](const KernelParams& p) { return build_entry(op, label, p); }});
    }
  }
}

} // namespace tessera::mhc
