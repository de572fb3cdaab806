/** \file
 * Warp-collective operations for CPU-compiled kernels. A block runs on one host thread, so the
 * lowering first evaluates a warp op's operand for every thread of the range into an array, then
 * calls this helper, which computes every lane's result exactly as the GPU's shuffle sequence
 * would (the same butterfly order, so sums are bit-identical across lanes and with the device).
 * The JIT binds the symbol kWarpOpSymbol to tessera_cpu_warp_op.
 */
#pragma once

#include <cstdint>

namespace tessera::cpu {

/** Operation codes of tessera_cpu_warp_op. */
enum class WarpOp : std::int32_t { sum = 0, max = 1, shfl_xor = 2, shfl_idx = 3, min = 4 };
/** Element types of tessera_cpu_warp_op. */
enum class WarpType : std::int32_t { f32 = 0, f64 = 1, i32 = 2, i64 = 3 };

/** The name JIT code calls the helper by. */
inline constexpr const char* kWarpOpSymbol = "tessera_cpu_warp_op";

} // namespace tessera::cpu

extern "C" {
/**
 * For every thread t in [begin, end): out[t] = op over the lanes of t's warp (values indexed by
 * absolute thread id). sum/max/min: butterfly all-reduce over aligned groups of `arg` lanes.
 * shfl_xor: the value of lane (t ^ arg). shfl_idx: the value of lane src_lanes[t] % 32 of t's
 * warp. A source lane outside [begin, end) yields the thread's own value.
 */
void tessera_cpu_warp_op(std::int32_t op, std::int32_t type, const void* values,
                         const std::int32_t* src_lanes, void* out, std::int64_t begin,
                         std::int64_t end, std::int32_t arg);
}
