/** \file
 * TensorStorage: owning bytes in host or device memory that TensorViews look into — what the
 * examples, tests, benchmarks and `tessera run` allocate for a kernel's arguments, whichever
 * memory the target takes (device memory for the cuda target, host memory for the cpu one).
 *
 * \code
 *   TensorStorage x = TensorStorage::from_host(MemoryKind::host, values);   // or ::cuda
 *   TensorStorage y(MemoryKind::host, n * sizeof(float));
 *   y.poison();                                          // unwritten elements read as NaN
 *   kernel.launch(stream, x.view(DType::f32, {n}), y.view(DType::f32, {n}));
 *   std::vector<float> out = y.to_host<float>(n);
 * \endcode
 *
 * Host storage is kHostAlignment-aligned (like cuMemAlloc's device pointers), so views of it
 * pass the same alignment checks as device views. Copies to and from host memory complete
 * before they return. Device storage needs a driver and a device (DriverError otherwise).
 */
#pragma once

#include "runtime/memory.h"
#include "runtime/tensor.h"

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <vector>

namespace tessera {

/** Alignment of host TensorStorage, bytes (cuMemAlloc guarantees at least this on devices). */
inline constexpr std::size_t kHostAlignment = 256;

/** An owning, move-only allocation of `size()` bytes in host or device memory. */
class TensorStorage {
public:
  TensorStorage() = default;
  /** Allocates `bytes` (contents undefined) in `memory`; `device` applies to MemoryKind::cuda.
   * Throws UserError when host memory runs out, DriverError without a device. */
  TensorStorage(MemoryKind memory, std::size_t bytes, int device = 0);
  /** Moving leaves `other` empty (size 0, no memory). */
  TensorStorage(TensorStorage&& other) noexcept;
  TensorStorage& operator=(TensorStorage&& other) noexcept;
  TensorStorage(const TensorStorage&) = delete;
  TensorStorage& operator=(const TensorStorage&) = delete;
  ~TensorStorage() = default;

  /** Storage holding a copy of `values`. */
  template <class T>
  static TensorStorage from_host(MemoryKind memory, std::span<const T> values, int device = 0) {
    TensorStorage s(memory, values.size_bytes(), device);
    s.upload(values.data(), values.size_bytes());
    return s;
  }
  template <class T>
  static TensorStorage from_host(MemoryKind memory, const std::vector<T>& values, int device = 0) {
    return from_host(memory, std::span<const T>(values), device);
  }

  MemoryKind memory() const { return memory_; }
  int device() const { return device_; }
  std::size_t size() const { return bytes_; }
  /** The first byte: a host pointer, or a device address (never dereference it on the host). */
  void* data() const;

  /** Copies `bytes` from host memory to `offset`; UserError when the range exceeds the storage. */
  void upload(const void* src, std::size_t bytes, std::size_t offset = 0);
  /** Copies `bytes` at `offset` to host memory; UserError when the range exceeds the storage. */
  void download(void* dst, std::size_t bytes, std::size_t offset = 0) const;
  /** Sets every byte to `value`. */
  void fill_bytes(std::uint8_t value);
  /** Fills with 0xFF bytes, a NaN in f32, f16 and bf16: an output element a kernel fails to
   * write shows up in a comparison. */
  void poison() { fill_bytes(0xFF); }

  /** The first `count` elements of T. */
  template <class T> std::vector<T> to_host(std::size_t count) const {
    std::vector<T> out(count);
    download(out.data(), count * sizeof(T));
    return out;
  }

  /** A contiguous TensorView over the storage; UserError when it does not fit. */
  TensorView view(DType dtype, std::initializer_list<std::int64_t> shape) const;
  TensorView view(DType dtype, std::span<const std::int64_t> shape) const;

private:
  struct FreeHost {
    void operator()(std::byte* p) const;
  };
  MemoryKind memory_ = MemoryKind::host;
  int device_ = 0;
  std::size_t bytes_ = 0;
  std::unique_ptr<std::byte[], FreeHost> host_;
  DeviceBuffer device_buffer_;
};

} // namespace tessera
