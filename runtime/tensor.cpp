#include "runtime/tensor.h"

#include "base/error.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace tessera {

namespace {

void check_rank(std::size_t rank) {
  if (rank > static_cast<std::size_t>(kMaxRank)) {
    throw UserError(fmt::format("TensorView: rank {} exceeds the maximum of {}", rank, kMaxRank));
  }
}

} // namespace

TensorView::TensorView(void* data, DType dtype, std::span<const std::int64_t> shape,
                       MemoryKind memory, int device)
    : data_(data), dtype_(dtype), rank_(static_cast<int>(shape.size())), memory_(memory),
      device_(device) {
  check_rank(shape.size());
  std::int64_t stride = 1;
  for (int d = rank_ - 1; d >= 0; --d) {
    if (shape[d] < 0) {
      throw UserError(fmt::format("TensorView: dimension {} is negative ({})", d, shape[d]));
    }
    shape_[d] = shape[d];
    strides_[d] = stride;
    stride *= shape[d];
  }
}

TensorView::TensorView(void* data, DType dtype, std::span<const std::int64_t> shape,
                       std::span<const std::int64_t> strides, MemoryKind memory, int device)
    : TensorView(data, dtype, shape, memory, device) {
  if (strides.size() != shape.size()) {
    throw UserError(fmt::format("TensorView: {} strides given for a rank-{} shape", strides.size(),
                                shape.size()));
  }
  for (int d = 0; d < rank_; ++d) {
    strides_[d] = strides[d];
  }
}

std::int64_t TensorView::numel() const {
  std::int64_t n = 1;
  for (int d = 0; d < rank_; ++d) {
    n *= shape_[d];
  }
  return n;
}

bool TensorView::is_contiguous() const {
  // An empty tensor has no element to misplace; numpy reports zero strides for it.
  if (numel() == 0) {
    return true;
  }
  std::int64_t expected = 1;
  for (int d = rank_ - 1; d >= 0; --d) {
    if (shape_[d] != 1 && strides_[d] != expected) {
      return false;
    }
    expected *= shape_[d];
  }
  return true;
}

std::string TensorView::describe() const {
  return fmt::format("{}[{}] strides [{}] {}:{}", dtype_name(dtype_), fmt::join(shape(), ", "),
                     fmt::join(strides(), ", "), memory_ == MemoryKind::cuda ? "cuda" : "host",
                     device_);
}

} // namespace tessera
