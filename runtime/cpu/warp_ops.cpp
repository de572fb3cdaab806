#include "runtime/cpu/warp_ops.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <type_traits>

namespace tessera::cpu {
namespace {

template <class T> T combine(WarpOp op, T a, T b) {
  if (op == WarpOp::sum) {
    return a + b;
  }
  if constexpr (std::is_floating_point_v<T>) {
    // fmaxf / fminf on the device: a NaN operand is ignored
    return op == WarpOp::min ? std::fmin(a, b) : std::fmax(a, b);
  } else {
    return op == WarpOp::min ? std::min(a, b) : std::max(a, b);
  }
}

template <class T>
void run(WarpOp op, const T* v, const std::int32_t* src, T* out, std::int64_t begin,
         std::int64_t end, std::int32_t arg) {
  auto in_range = [&](std::int64_t t) { return t >= begin && t < end; };
  switch (op) {
  case WarpOp::sum:
  case WarpOp::max:
  case WarpOp::min: {
    const std::int64_t width = std::clamp(arg, 1, 32);
    std::array<T, 32> cur{}, next{};
    for (std::int64_t g = begin - begin % width; g < end; g += width) {
      for (std::int64_t l = 0; l < width; ++l) {
        cur[l] = in_range(g + l) ? v[g + l] : T{};
      }
      // for (offset = width / 2; offset > 0; offset /= 2) v = op(v, shfl_xor(v, offset));
      for (std::int64_t off = width / 2; off > 0; off /= 2) {
        for (std::int64_t l = 0; l < width; ++l) {
          next[l] = combine(op, cur[l], cur[l ^ off]);
        }
        cur = next;
      }
      for (std::int64_t l = 0; l < width; ++l) {
        if (in_range(g + l)) {
          out[g + l] = cur[l];
        }
      }
    }
    break;
  }
  case WarpOp::shfl_xor:
    for (std::int64_t t = begin; t < end; ++t) {
      const std::int64_t s = (t & ~std::int64_t(31)) | ((t & 31) ^ (arg & 31));
      out[t] = in_range(s) ? v[s] : v[t];
    }
    break;
  case WarpOp::shfl_idx:
    for (std::int64_t t = begin; t < end; ++t) {
      const std::int64_t s = (t & ~std::int64_t(31)) | (src[t] & 31);
      out[t] = in_range(s) ? v[s] : v[t];
    }
    break;
  }
}

} // namespace
} // namespace tessera::cpu

extern "C" void tessera_cpu_warp_op(std::int32_t op, std::int32_t type, const void* values,
                                    const std::int32_t* src_lanes, void* out, std::int64_t begin,
                                    std::int64_t end, std::int32_t arg) {
  using namespace tessera::cpu;
  const auto o = static_cast<WarpOp>(op);
  switch (static_cast<WarpType>(type)) {
  case WarpType::f32:
    run(o, static_cast<const float*>(values), src_lanes, static_cast<float*>(out), begin, end, arg);
    break;
  case WarpType::f64:
    run(o, static_cast<const double*>(values), src_lanes, static_cast<double*>(out), begin, end,
        arg);
    break;
  case WarpType::i32:
    run(o, static_cast<const std::int32_t*>(values), src_lanes, static_cast<std::int32_t*>(out),
        begin, end, arg);
    break;
  case WarpType::i64:
    run(o, static_cast<const std::int64_t*>(values), src_lanes, static_cast<std::int64_t*>(out),
        begin, end, arg);
    break;
  }
}
