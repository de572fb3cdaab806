#include "kernels/mhc/register.h"

#include "base/error.h"
#include "kernels/mhc/ops.h"
#include "kernels/mhc/registry.h"

#include <fmt/format.h>

namespace tessera::mhc {

namespace {

/** SM count assumed for the automatic split count when emitting without a GPU. */
constexpr int kEmitSmCount = 132;

const std::vector<std::pair<std::string, std::vector<std::string>>>& op_labels() {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> labels = {
      {"mhc_pre", {"stage_a", "big_fuse"}},
      {"mhc_pre_broadcast", {"stage_a", "big_fuse"}},
      {"mhc_post", {"post"}},
      {"mhc_fused_post_pre", {"fused_post", "post", "stage_a", "big_fuse"}},
      {"hc_head", {"stage_a", "head_collapse"}},
      {"sinkhorn", {"sinkhorn"}},
  };
  return labels;
}

ir::Kernel build_entry(const std::string& op, const std::string& label, const KernelParams& p) {
  Config c;
  c.hidden = p.integer("hidden");
  c.hc_mult = p.integer("hc_mult");
  c.sinkhorn_iters = p.integer("iters");
  c.gemm_precision = p.integer("precision") ? GemmPrecision::fp32 : GemmPrecision::tf32;
  if (p.integer("norm") || op == "mhc_pre_broadcast") {
    c.norm_eps = 1e-6f;
  }
  if (p.integer("splits") > 0) {
    c.split = SplitPolicy::fixed(p.integer("splits"));
  }
  c.validate();
  std::int64_t T = p.integer("tokens");
  // The fused op's kernels exist in one regime each: pick a token count that has `label`.
  if (op == "mhc_fused_post_pre") {
    if (label == "fused_post" && T > kFusedSmallT) {
      T = 1;
    } else if ((label == "post" || label == "stage_a") && T <= kFusedSmallT) {
      T = kFusedSmallT + 1;
    }
  }
  int splits = 0;
  if (op == "mhc_fused_post_pre" && T <= kFusedSmallT) {
    splits = fused_small_splits(c, T);
  } else {
    splits = num_splits_for(c, std::max<std::int64_t>(T, 1),
                            op == "mhc_pre_broadcast" ? c.hidden : c.k(), kEmitSmCount);
  }
  for (OpKernel& k : op_kernels(op, c, T, splits)) {
    if (k.label == label) {
      return std::move(k.kernel);
    }
  }
  throw UserError(fmt::format("{}.{}: no such kernel for T = {}", op, label, T));
}

} // namespace

std::vector<std::string> mhc_kernel_entries(const std::string& op) {
  for (const auto& [name, labels] : op_labels()) {
    if (name == op) {
      std::vector<std::string> out;
      for (const auto& l : labels) {
        out.push_back(op + "." + l);
      }
      return out;
    }
  }
  return {};
}

void register_kernels(KernelRegistry& registry) {
  const std::vector<KernelParam> params = {
      {"hidden", KernelParam::Type::integer, 7168, "hidden size H"},
      {"hc_mult", KernelParam::Type::integer, 4, "residual streams n"},
      {"tokens", KernelParam::Type::integer, 1, "token count the kernels are chosen for"},
      {"splits", KernelParam::Type::integer, 0, "stage-A splits (0: automatic, 132 SMs)"},
      {"norm", KernelParam::Type::integer, 0, "1: fused RMSNorm of the layer input"},
      {"iters", KernelParam::Type::integer, 20, "Sinkhorn iterations"},
      {"precision", KernelParam::Type::integer, 0, "stage-A GEMM: 0 tf32, 1 fp32"},
  };
  for (const auto& [op, labels] : op_labels()) {
    for (const std::string& label : labels) {
      registry.add(KernelEntry{
          op + "." + label, fmt::format("mHC {}: the {} kernel (docs/mhc.md)", op, label), params,
          [op = op, label](const KernelParams& p) { return build_entry(op, label, p); }});
    }
  }
}

} // namespace tessera::mhc
