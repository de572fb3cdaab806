/** \file
 * Argument validation of the mHC operators, on TensorViews, before any launch.
 *
 * Intended host API (written with the DSL kernels; these checks are its first statement):
 *
 *     namespace tessera::mhc {
 *     void pre(Runtime&, const Config&, const PreArgs&, CUstream);
 *     void pre_broadcast(Runtime&, const Config&, const PreBroadcastArgs&, CUstream);
 *     void post(Runtime&, const Config&, const PostArgs&, CUstream);
 *     void fused_post_pre(Runtime&, const Config&, const FusedPostPreArgs&, CUstream);
 *     void head(Runtime&, const Config&, const HeadArgs&, CUstream);
 *     void sinkhorn(Runtime&, const Config&, const SinkhornArgs&, CUstream);
 *     // stages, for tests and benchmarks: stage_a(.., StageAArgs ..), big_fuse(.., BigFuseArgs ..)
 *     }
 *
 *  - One function per op; every tensor, inputs and outputs, is a TensorView the caller owns.
 *    Outputs are written, never allocated; the args structs use designated initialisers.
 *  - The split-K partials live in a caller-owned workspace (or a caller-provided pool) of at
 *    least workspace_bytes(config, T, S) bytes, S = resolve_num_splits(...) for the device.
 *  - A call allocates nothing, never synchronises, and enqueues its kernels on the stream; so
 *    it can be captured in a CUDA graph. The kernels are compiled (and cached) per Config.
 *  - T (tokens) is taken from the first tensor of each op; T = 0 is valid and launches nothing.
 *
 * Rules checked here (each failure is a UserError "<op>: argument '<name>': <problem>;
 * expected <what>, got <TensorView::describe()>"):
 *  - memory kind equals the target (cuda for the GPU API, host for the CPU backend) and every
 *    tensor is on the same device as the first;
 *  - exact dtype and shape (T, n, H, M3 = n(n+2), K = n·H consistent); post_mix may be
 *    `[T, n]` or `[T, n, 1]`, comb_mix `[T, n, n]` or `[T, n·n]`;
 *  - every tensor is contiguous (row-major, TensorView::is_contiguous());
 *  - no null data pointer unless the tensor is empty (T = 0);
 *  - bf16 tensors, fn / fn_bcast / fn_head and the workspace are 16-byte aligned (the kernels
 *    use 16-byte accesses; rows of a tensor need not be 16-byte aligned when H % 8 != 0, the
 *    kernels pick narrower accesses then); other fp32 tensors are 4-byte aligned;
 *  - outputs overlap neither inputs nor each other (no in-place operation);
 *  - norm_weight is given iff config.norm_eps is set (mandatory for the broadcast variant);
 *  - the workspace holds at least workspace_bytes() bytes;
 *  - the Config itself is valid (Config::validate(); any H >= 1 is accepted).
 */
#pragma once

#include "kernels/mhc/config.h"
#include "runtime/tensor.h"

#include <cstdint>
#include <optional>

namespace tessera::mhc {

/** Byte layout of the stage-A split-K partials inside the workspace. */
struct WorkspaceLayout {
  std::int64_t mix_offset = 0; ///< fp32 `[S, T, M3]` partial projections
  std::int64_t mix_bytes = 0;
  std::int64_t sqrsum_offset = 0; ///< fp32 `[S, T]` partial square sums, 256-byte aligned
  std::int64_t sqrsum_bytes = 0;
  std::int64_t total_bytes = 0; ///< multiple of 256
};

/** Alignment of every region of the workspace, and of the offsets in WorkspaceLayout. */
inline constexpr std::int64_t kWorkspaceAlign = 256;

/** The workspace layout of a pre step with `num_splits` splits over `tokens` tokens. Throws
 * UserError for tokens < 0 or num_splits < 1. */
WorkspaceLayout workspace_layout(const Config& config, std::int64_t tokens, int num_splits);

/** workspace_layout(config, tokens, num_splits).total_bytes (0 when tokens = 0). Needed by
 * mhc_pre, mhc_pre_broadcast and mhc_fused_post_pre; the single-pass fused kernel uses its own
 * split count (4 or 8), so size the workspace for the largest S the host API may pick. */
std::int64_t workspace_bytes(const Config& config, std::int64_t tokens, int num_splits);

/** mhc_pre (§3.5). */
struct PreArgs {
  TensorView residual;                   ///< bf16 `[T, n, H]`
  TensorView fn;                         ///< f32 `[M3, n·H]`
  TensorView scale;                      ///< f32 `[3]`
  TensorView base;                       ///< f32 `[M3]`
  std::optional<TensorView> norm_weight; ///< bf16 `[H]`, iff config.norm_eps
  TensorView post_mix;                   ///< out f32 `[T, n]` or `[T, n, 1]`
  TensorView comb_mix;                   ///< out f32 `[T, n, n]` or `[T, n·n]`
  TensorView layer_input;                ///< out bf16 `[T, H]`
  TensorView workspace;                  ///< scratch, >= workspace_bytes(config, T, S)
};

/** mhc_pre on the 2-D embedding (first layer, §3.4); the fused norm is mandatory. */
struct PreBroadcastArgs {
  TensorView embedding;    ///< bf16 `[T, H]`
  TensorView fn_bcast;     ///< f32 `[M3, H]`
  TensorView scale;        ///< f32 `[3]`
  TensorView base;         ///< f32 `[M3]`
  TensorView norm_weight;  ///< bf16 `[H]`
  TensorView residual_out; ///< out bf16 `[T, n, H]`
  TensorView post_mix;     ///< out f32 `[T, n]` or `[T, n, 1]`
  TensorView comb_mix;     ///< out f32 `[T, n, n]` or `[T, n·n]`
  TensorView layer_input;  ///< out bf16 `[T, H]`
  TensorView workspace;    ///< scratch, >= workspace_bytes(config, T, S)
};

/** mhc_post (§3.6). */
struct PostArgs {
  TensorView y;        ///< bf16 `[T, H]`
  TensorView residual; ///< bf16 `[T, n, H]`
  TensorView post_mix; ///< f32 `[T, n]` or `[T, n, 1]`
  TensorView comb_mix; ///< f32 `[T, n, n]` or `[T, n·n]`
  TensorView out;      ///< out bf16 `[T, n, H]`
};

/** mhc_fused_post_pre (§3.7). */
struct FusedPostPreArgs {
  TensorView y;                          ///< bf16 `[T, H]`
  TensorView residual;                   ///< bf16 `[T, n, H]`
  TensorView post_mix;                   ///< f32 `[T, n]` or `[T, n, 1]`
  TensorView comb_mix;                   ///< f32 `[T, n, n]` or `[T, n·n]`
  TensorView fn;                         ///< f32 `[M3, n·H]` (next sublayer)
  TensorView scale;                      ///< f32 `[3]`
  TensorView base;                       ///< f32 `[M3]`
  std::optional<TensorView> norm_weight; ///< bf16 `[H]`, iff config.norm_eps
  TensorView residual_out;               ///< out bf16 `[T, n, H]`
  TensorView post_mix_out;               ///< out f32 `[T, n]` or `[T, n, 1]`
  TensorView comb_mix_out;               ///< out f32 `[T, n, n]` or `[T, n·n]`
  TensorView layer_input;                ///< out bf16 `[T, H]`
  TensorView workspace;                  ///< scratch, >= workspace_bytes(config, T, S)
};

/** hc_head (§3.8). */
struct HeadArgs {
  TensorView residual; ///< bf16 `[T, n, H]`
  TensorView fn;       ///< f32 `[n, n·H]`
  TensorView scale;    ///< f32 `[1]`
  TensorView base;     ///< f32 `[n]`
  TensorView out;      ///< out bf16 `[T, H]`
};

/** Standalone Sinkhorn (§3.9). */
struct SinkhornArgs {
  TensorView logits; ///< f32 `[T, n, n]`
  TensorView comb;   ///< out f32 `[T, n, n]`
};

/** Stage A alone (§3.1). K is config.k(), or config.hidden for the broadcast variant. */
struct StageAArgs {
  TensorView x;              ///< bf16 `[T, K]`
  TensorView fn;             ///< f32 `[M3, K]`
  TensorView partial_mix;    ///< out f32 `[S, T, M3]`
  TensorView partial_sqrsum; ///< out f32 `[S, T]`
};

/** Stage B alone (§3.2 / §3.3). */
struct BigFuseArgs {
  TensorView partial_mix;                ///< f32 `[S, T, M3]`
  TensorView partial_sqrsum;             ///< f32 `[S, T]`
  TensorView scale;                      ///< f32 `[3]`
  TensorView base;                       ///< f32 `[M3]`
  TensorView residual;                   ///< bf16 `[T, n, H]`
  std::optional<TensorView> norm_weight; ///< bf16 `[H]`, iff config.norm_eps
  TensorView post_mix;                   ///< out f32 `[T, n]` or `[T, n, 1]`
  TensorView comb_mix;                   ///< out f32 `[T, n, n]` or `[T, n·n]`
  TensorView layer_input;                ///< out bf16 `[T, H]`
};

/** Each validate_* checks the Config and every argument of one op (rules in the file comment)
 * and returns the token count T. `num_splits` is the split count the call will use. */
std::int64_t validate_pre(const Config& config, const PreArgs& args, int num_splits,
                          MemoryKind target = MemoryKind::cuda);
std::int64_t validate_pre_broadcast(const Config& config, const PreBroadcastArgs& args,
                                    int num_splits, MemoryKind target = MemoryKind::cuda);
std::int64_t validate_post(const Config& config, const PostArgs& args,
                           MemoryKind target = MemoryKind::cuda);
std::int64_t validate_fused_post_pre(const Config& config, const FusedPostPreArgs& args,
                                     int num_splits, MemoryKind target = MemoryKind::cuda);
std::int64_t validate_head(const Config& config, const HeadArgs& args,
                           MemoryKind target = MemoryKind::cuda);
std::int64_t validate_sinkhorn(const Config& config, const SinkhornArgs& args,
                               MemoryKind target = MemoryKind::cuda);
/** `k` must be config.k() (mhc_pre) or config.hidden (broadcast). */
std::int64_t validate_stage_a(const Config& config, const StageAArgs& args, std::int64_t k,
                              int num_splits, MemoryKind target = MemoryKind::cuda);
std::int64_t validate_big_fuse(const Config& config, const BigFuseArgs& args, int num_splits,
                               MemoryKind target = MemoryKind::cuda);

} // namespace tessera::mhc
