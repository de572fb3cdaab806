#include "kernels/mhc/registry.h"

#include "base/error.h"
#include "kernels/mhc/kernels.h"
#include "kernels/mhc/ops.h"

#include <cstdlib>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace tessera::mhc {

const std::vector<std::string>& op_names() {
  static const std::vector<std::string> names = {
      "mhc_pre", "mhc_pre_broadcast", "mhc_post", "mhc_fused_post_pre",
      "hc_head", "sinkhorn",          "stage_a",  "big_fuse"};
  return names;
}

std::vector<OpKernel> op_kernels(const std::string& op, const Config& c, std::int64_t tokens,
                                 int splits) {
  c.validate();
  const int n = c.hc_mult;
  const int m = c.mix_count();
  const auto stage_a = [&](std::int64_t k, int rows, int s) {
    if (use_stage_a_mma(tokens, rows)) {
      return OpKernel{
          "stage_a",
          kernels::stage_a_mma({.k = k, .rows = rows, .splits = s, .precision = c.gemm_precision})};
    }
    return OpKernel{"stage_a", kernels::stage_a({.k = k,
                                                 .rows = rows,
                                                 .splits = s,
                                                 .precision = c.gemm_precision,
                                                 .threads = 256,
                                                 .tile_k = 1024})};
  };
  const auto big_fuse = [&](kernels::BigFuseVariant v, int s) {
    return OpKernel{"big_fuse", kernels::big_fuse(kernels::big_fuse_params(c, s, v))};
  };
  const auto pre_variant =
      c.norm_eps ? kernels::BigFuseVariant::norm : kernels::BigFuseVariant::plain;
  const auto post = [&] {
    return OpKernel{"post",
                    kernels::post({.hidden = c.hidden, .n = n, .tile_h = post_tile_h(tokens)})};
  };
  if (op == "mhc_pre") {
    return {stage_a(c.k(), m, splits), big_fuse(pre_variant, splits)};
  }
  if (op == "mhc_pre_broadcast") {
    return {stage_a(c.hidden, m, splits), big_fuse(kernels::BigFuseVariant::broadcast, splits)};
  }
  if (op == "mhc_post") {
    return {post()};
  }
  if (op == "mhc_fused_post_pre") {
    if (tokens <= kFusedSmallT) {
      return {OpKernel{"fused_post",
                       kernels::fused_post({.hidden = c.hidden, .n = n, .splits = splits})},
              big_fuse(pre_variant, splits)};
    }
    return {post(), stage_a(c.k(), m, splits), big_fuse(pre_variant, splits)};
  }
  if (op == "hc_head") {
    // hc_head's projection is full fp32 (spec §3.8).
    const auto head_a =
        use_stage_a_mma(tokens, n)
            ? kernels::stage_a_mma(
                  {.k = c.k(), .rows = n, .splits = splits, .precision = GemmPrecision::fp32})
            : kernels::stage_a({.k = c.k(),
                                .rows = n,
                                .splits = splits,
                                .precision = GemmPrecision::fp32,
                                .threads = 256,
                                .tile_k = 1024});
    return {OpKernel{"stage_a", head_a},
            OpKernel{"head_collapse", kernels::head_collapse({.hidden = c.hidden,
                                                              .n = n,
                                                              .splits = splits,
                                                              .rms_eps = c.rms_eps,
                                                              .hc_eps = c.hc_pre_eps})}};
  }
  if (op == "sinkhorn") {
    return {
        OpKernel{"sinkhorn",
                 kernels::sinkhorn({.n = n, .iters = c.sinkhorn_iters, .eps = c.hc_sinkhorn_eps})}};
  }
  if (op == "stage_a") {
    return {stage_a(c.k(), m, splits)};
  }
  if (op == "big_fuse") {
    return {big_fuse(pre_variant, splits)};
  }
  throw UserError(
      fmt::format("unknown mHC op '{}'; expected one of: {}", op, fmt::join(op_names(), ", ")));
}

bool use_stage_a_mma(std::int64_t tokens, int rows) {
  // TESSERA_MHC_STAGE_A=fma|mma|auto picks the stage-A kernel (read once): the per-token FMA
  // kernel, the 64-token tensor-core tile (T > 16), or the default below. It exists so the two
  // paths can be compared on a device and so the tensor-core path can be switched off without a
  // rebuild.
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
  // auto = the per-token FMA kernel. Measured on an H200 (2026-11-28, bench/RESULTS.md) under
  // CUDA-graph replay, the 64-token tensor-core tile was slower for mhc_pre at every T > 16
  // (2.6 ms vs 0.84 ms at T = 4096, H = 4096) and 5-8x slower for hc_head's 4 rows; it stays
  // available (and GPU-tested) behind TESSERA_MHC_STAGE_A=mma until its pipeline is tuned.
  return mode == "mma" && tokens > kFusedSmallT;
}

int post_tile_h(std::int64_t tokens) {
  // Small T: narrower tiles (32-thread blocks) give more blocks to spread the row over.
  return tokens <= 16 ? 256 : 512;
}

int fused_small_splits(const Config& c, std::int64_t tokens) {
  if (c.split.kind == SplitPolicy::Kind::fixed) {
    return c.split.splits;
  }
  // vLLM's choice (§3.7): 8 splits for T < 8 and H ≤ 4096, else 4.
  return tokens < 8 && c.hidden <= 4096 ? 8 : 4;
}

} // namespace tessera::mhc
