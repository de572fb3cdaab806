/** \file
 * TensorView: a non-owning view of a strided tensor in host or device memory. It is what every
 * kernel launch and every mHC op takes; shapes and strides are checked against the kernel's
 * declared parameters at launch. Fixed-capacity storage keeps views allocation-free, since
 * they are built on the launch path.
 */
#pragma once

#include "base/dtype.h"

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>

namespace tessera {

/** Where a tensor's memory lives. */
enum class MemoryKind : std::uint8_t { host, cuda };

/** Largest rank a TensorView holds. */
inline constexpr int kMaxRank = 6;

/** A strided view: pointer, dtype, shape and strides in elements, memory kind and device. */
class TensorView {
public:
  TensorView() = default;

  /** A contiguous (row-major) view. Throws UserError if the rank exceeds kMaxRank or a dim is
   * negative. */
  TensorView(void* data, DType dtype, std::span<const std::int64_t> shape,
             MemoryKind memory = MemoryKind::cuda, int device = 0);
  TensorView(void* data, DType dtype, std::initializer_list<std::int64_t> shape,
             MemoryKind memory = MemoryKind::cuda, int device = 0)
      : TensorView(data, dtype, std::span<const std::int64_t>(shape.begin(), shape.size()), memory,
                   device) {}

  /** A view with explicit strides (in elements). */
  TensorView(void* data, DType dtype, std::span<const std::int64_t> shape,
             std::span<const std::int64_t> strides, MemoryKind memory = MemoryKind::cuda,
             int device = 0);

  void* data() const { return data_; }
  DType dtype() const { return dtype_; }
  int rank() const { return rank_; }
  std::int64_t size(int dim) const { return shape_[dim]; }
  std::int64_t stride(int dim) const { return strides_[dim]; }
  std::span<const std::int64_t> shape() const { return {shape_.data(), std::size_t(rank_)}; }
  std::span<const std::int64_t> strides() const { return {strides_.data(), std::size_t(rank_)}; }
  MemoryKind memory() const { return memory_; }
  int device() const { return device_; }

  /** Number of elements (1 for rank 0). */
  std::int64_t numel() const;
  /** Bytes spanned by the elements when contiguous (numel * dtype size). */
  std::int64_t nbytes() const { return numel() * static_cast<std::int64_t>(dtype_size(dtype_)); }
  /** True when strides are exactly row-major for the shape (size-1 dims are ignored). */
  bool is_contiguous() const;

  /** "bf16[4, 4, 7168] strides [28672, 7168, 1] cuda:0" — used in error messages. */
  std::string describe() const;

private:
  void* data_ = nullptr;
  DType dtype_ = DType::f32;
  int rank_ = 0;
  std::array<std::int64_t, kMaxRank> shape_{};
  std::array<std::int64_t, kMaxRank> strides_{};
  MemoryKind memory_ = MemoryKind::cuda;
  int device_ = 0;
};

} // namespace tessera
