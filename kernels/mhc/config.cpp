#include "kernels/mhc/config.h"

#include "base/error.h"

#include <cmath>
#include <fmt/format.h>

namespace tessera::mhc {

namespace {

void check_eps(const char* field, float value) {
  if (!std::isfinite(value) || value < 0.0f) {
    throw UserError(
        fmt::format("mhc::Config: field '{}' must be a finite value >= 0, got {}", field, value));
  }
}

} // namespace

void Config::validate() const {
  if (hidden < 1) {
    throw UserError(fmt::format(
        "mhc::Config: field 'hidden' must be >= 1 (the hidden size H), got {}", hidden));
  }
  if (hc_mult < 2 || hc_mult > kMaxHcMult) {
    throw UserError(fmt::format("mhc::Config: field 'hc_mult' must be in [2, {}], got {}",
                                kMaxHcMult, hc_mult));
  }
  // Keep K·M3 and T·K comfortably inside int64 and the device's 32-bit grid limits.
  if (hidden > (std::int64_t{1} << 26)) {
    throw UserError(fmt::format("mhc::Config: field 'hidden' must be <= 2^26, got {}", hidden));
  }
  if (sinkhorn_iters < 1) {
    throw UserError(
        fmt::format("mhc::Config: field 'sinkhorn_iters' must be >= 1, got {}", sinkhorn_iters));
  }
  check_eps("rms_eps", rms_eps);
  check_eps("hc_pre_eps", hc_pre_eps);
  check_eps("hc_sinkhorn_eps", hc_sinkhorn_eps);
  if (!std::isfinite(post_mult)) {
    throw UserError(
        fmt::format("mhc::Config: field 'post_mult' must be finite, got {}", post_mult));
  }
  if (gemm_precision != GemmPrecision::tf32 && gemm_precision != GemmPrecision::fp32) {
    throw UserError(fmt::format("mhc::Config: field 'gemm_precision' has an unknown value {}",
                                static_cast<int>(gemm_precision)));
  }
  if (split.kind == SplitPolicy::Kind::fixed && (split.splits < 1 || split.splits > kMaxSplits)) {
    throw UserError(
        fmt::format("mhc::Config: field 'split' is a fixed policy with {} splits; expected 1..{}",
                    split.splits, kMaxSplits));
  }
  if (split.kind != SplitPolicy::Kind::fixed && split.kind != SplitPolicy::Kind::automatic) {
    throw UserError(fmt::format("mhc::Config: field 'split' has an unknown kind {}",
                                static_cast<int>(split.kind)));
  }
  if (norm_eps) {
    check_eps("norm_eps", *norm_eps);
  }
}

int choose_num_splits(int num_sms, std::int64_t num_tokens, std::int64_t k, int block_m,
                      int block_k) {
  if (num_sms < 1 || num_tokens < 0 || k < 1 || block_m < 1 || block_k < 1) {
    throw UserError(fmt::format(
        "mhc::choose_num_splits: expected num_sms >= 1, num_tokens >= 0, k >= 1 and positive "
        "block sizes; got num_sms={}, num_tokens={}, k={}, block_m={}, block_k={}",
        num_sms, num_tokens, k, block_m, block_k));
  }
  const std::int64_t grid = std::max<std::int64_t>(1, (num_tokens + block_m - 1) / block_m);
  std::int64_t s = num_sms / grid;
  s = std::min<std::int64_t>(s, ((k + block_k - 1) / block_k) / 4);
  return static_cast<int>(std::max<std::int64_t>(s, 1));
}

int bucket_num_splits(int num_splits) {
  if (num_splits < 1) {
    throw UserError(
        fmt::format("mhc::bucket_num_splits: expected a split count >= 1, got {}", num_splits));
  }
  if (num_splits == 1) {
    return 1;
  }
  return num_splits <= 4 ? 4 : 16;
}

int resolve_num_splits(const Config& config, int num_sms, std::int64_t num_tokens, std::int64_t k) {
  if (config.split.kind == SplitPolicy::Kind::fixed) {
    return config.split.splits;
  }
  return choose_num_splits(num_sms, num_tokens, k);
}

} // namespace tessera::mhc
