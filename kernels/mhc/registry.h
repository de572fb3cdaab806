/** \file
 * The kernels each mHC op launches, as traced IR, for `tessera emit`, the NVRTC compile tests
 * and the benchmarks — the same builders and parameters the host API (ops.h) uses.
 */
#pragma once

#include "ir/ir.h"
#include "kernels/mhc/config.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tessera::mhc {

/** One kernel of an op: a label ("stage_a", "big_fuse") and its IR. */
struct OpKernel {
  std::string label;
  ir::Kernel kernel;
};

/** Names of the ops op_kernels() knows: mhc_pre, mhc_pre_broadcast, mhc_post,
 * mhc_fused_post_pre, hc_head, sinkhorn, stage_a, big_fuse. */
const std::vector<std::string>& op_names();

/** The kernels `op` launches for `tokens` tokens with `splits` stage-A splits (use
 * pre_num_splits() etc. for the host API's choice). Throws UserError for an unknown op. */
std::vector<OpKernel> op_kernels(const std::string& op, const Config& config, std::int64_t tokens,
                                 int splits);

/** Whether stage A runs on tensor cores (stage_a_mma, 64-token tiles) for `tokens` tokens and
 * `rows` projection rows: T > 16 and rows a multiple of 8 (so hc_head's 4-row projection
 * always uses the per-token FMA kernel). */
bool use_stage_a_mma(std::int64_t tokens, int rows);

/** H tile of mhc_post for `tokens` tokens (256 for T ≤ 16, else 512). */
int post_tile_h(std::int64_t tokens);
/** Split count of the single-pass fused post+pre kernel (T ≤ 16). */
int fused_small_splits(const Config& config, std::int64_t tokens);

} // namespace tessera::mhc
