/** \file
 * The mHC host API (tessera::mhc): one function per operator on caller-owned TensorViews
 * (argument structs in kernels/mhc/validate.h), enqueued on a CUDA stream.
 *
 *     tessera::mhc::Config cfg{.hidden = 7168};
 *     const int S = tessera::mhc::pre_num_splits(cfg, T);
 *     DeviceBuffer ws(tessera::mhc::workspace_bytes(cfg, T, S));
 *     tessera::mhc::mhc_pre(cfg, {.residual = ..., .workspace = ws.view(u8, {bytes})}, stream);
 *
 * Every call validates its arguments first (UserError naming the argument and what was
 * expected), allocates nothing and never synchronises, so calls can be captured in CUDA
 * graphs. Each call launches its op's plan (kernels/mhc/plan.h); a kernel is traced on the
 * first call of its configuration and compiled by Runtime::compile (memoized in the process,
 * cached on disk), so later calls only launch. Dependent kernels are launched with
 * programmatic dependent launch on sm_90+. T = 0 launches nothing.
 *
 * Host TensorViews (MemoryKind::host, all of them) run the same DSL kernels on the CPU backend
 * (builds with TESSERA_ENABLE_LLVM), synchronously; the stream is then ignored. The
 * *_num_splits / *_workspace_bytes queries take device = -1 for the CPU backend.
 */
#pragma once

#include "kernels/mhc/config.h"
#include "kernels/mhc/op_spec.h"
#include "kernels/mhc/validate.h"

#include <cstdint>
#include <cuda.h>
#include <span>
#include <string_view>

namespace tessera::mhc {

/** Stage-A split count mhc_pre uses for `tokens` tokens on `device` (config.split: fixed, or
 * the automatic policy of docs/mhc.md; 1 for T = 0). These queries read the op's plan. */
int pre_num_splits(const Config& config, std::int64_t tokens, int device = 0);
/** The same for the broadcast variant (K = H). */
int pre_broadcast_num_splits(const Config& config, std::int64_t tokens, int device = 0);
/** Split count of mhc_fused_post_pre for `tokens` tokens (the single-pass kernel's for T ≤ 16). */
int fused_post_pre_num_splits(const Config& config, std::int64_t tokens, int device = 0);
/** Split count of hc_head's projection. */
int head_num_splits(const Config& config, std::int64_t tokens, int device = 0);

/** Workspace bytes each op needs for `tokens` tokens on `device` (0 for T = 0). */
std::int64_t pre_workspace_bytes(const Config& config, std::int64_t tokens, int device = 0);
std::int64_t pre_broadcast_workspace_bytes(const Config& config, std::int64_t tokens,
                                           int device = 0);
std::int64_t fused_post_pre_workspace_bytes(const Config& config, std::int64_t tokens,
                                            int device = 0);
std::int64_t head_workspace_bytes(const Config& config, std::int64_t tokens, int device = 0);

/** mhc_pre (stage A + big fuse, with the fused norm when config.norm_eps is set). */
void mhc_pre(const Config& config, const PreArgs& args, CUstream stream);
/** First-layer mhc_pre on the 2-D embedding (fused norm mandatory). */
void mhc_pre_broadcast(const Config& config, const PreBroadcastArgs& args, CUstream stream);
/** mhc_post. */
void mhc_post(const Config& config, const PostArgs& args, CUstream stream);
/** mhc_fused_post_pre: single-pass small-T kernel for T ≤ kFusedSmallT, else post + pre. */
void mhc_fused_post_pre(const Config& config, const FusedPostPreArgs& args, CUstream stream);
/** hc_head; `workspace` holds the projection partials (head_workspace_bytes). */
void hc_head(const Config& config, const HeadArgs& args, const TensorView& workspace,
             CUstream stream);
/** Standalone Sinkhorn on `[T, n, n]` (config.sinkhorn_iters, config.hc_sinkhorn_eps). */
void sinkhorn(const Config& config, const SinkhornArgs& args, CUstream stream);
/** Stage A alone; S is partial_mix.size(0); `k` is config.k() or config.hidden (broadcast). */
void stage_a(const Config& config, const StageAArgs& args, std::int64_t k, CUstream stream);
/** Stage B alone (plain, or norm when config.norm_eps); S is partial_mix.size(0). */
void big_fuse(const Config& config, const BigFuseArgs& args, CUstream stream);

/** An op's tensor by its argument name in validate.h ("residual", "fn", ...). */
struct NamedTensor {
  std::string_view name;
  TensorView view;
};

/**
 * Calls `op` with its tensors by name (op_spec(op).tensors lists them; an absent norm_weight is
 * std::nullopt) and a workspace (ignored by ops that take none): the functions above, for code
 * that iterates the OpSpec table (`tessera run`, bench/mhc_bench, the tests). stage_a reduces
 * over config.k(); stage_a and big_fuse take S from partial_mix. UserError when a tensor is
 * missing, then whatever the op's validation says.
 */
void call_op(Op op, const Config& config, std::span<const NamedTensor> tensors,
             const TensorView& workspace, CUstream stream);

} // namespace tessera::mhc
