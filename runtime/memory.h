/** \file
 * Device memory and streams for tests, examples and benchmarks: an owning DeviceBuffer with
 * host<->device copies, Stream and Event wrappers (events time GPU work in benches). All calls
 * need a driver and a device and throw DriverError otherwise.
 */
#pragma once

#include "base/dtype.h"
#include "runtime/launch_args.h"
#include "runtime/tensor.h"

#include <cstddef>
#include <cstdint>
#include <cuda.h>
#include <initializer_list>
#include <span>
#include <vector>

namespace tessera {

/** An owning, move-only allocation of device memory (cuMemAlloc / cuMemFree). */
class DeviceBuffer {
public:
  DeviceBuffer() = default;
  /** Allocates `bytes` on `device` (contents undefined). */
  explicit DeviceBuffer(std::size_t bytes, int device = 0);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  /** A buffer holding a copy of `values`. */
  template <class T> static DeviceBuffer from_host(std::span<const T> values, int device = 0) {
    DeviceBuffer b(values.size_bytes(), device);
    b.copy_from_host(values.data(), values.size_bytes());
    return b;
  }
  template <class T> static DeviceBuffer from_host(const std::vector<T>& values, int device = 0) {
    return from_host(std::span<const T>(values), device);
  }

  CUdeviceptr device_ptr() const { return ptr_; }
  void* data() const { return reinterpret_cast<void*>(ptr_); }
  std::size_t size() const { return bytes_; }
  int device() const { return device_; }
  /** Address of the stored CUdeviceptr, usable directly as a kernel argument slot. */
  const CUdeviceptr* arg_slot() const { return &ptr_; }

  /** Copies that have completed on return (safe with any stream); UserError when the range
   * exceeds the buffer. */
  void copy_from_host(const void* src, std::size_t bytes, std::size_t offset = 0);
  void copy_to_host(void* dst, std::size_t bytes, std::size_t offset = 0) const;
  /** Sets every byte to `value`; complete on return. */
  void fill_bytes(std::uint8_t value);

  /** The whole buffer as `count` elements of T. */
  template <class T> std::vector<T> to_host(std::size_t count) const {
    std::vector<T> out(count);
    copy_to_host(out.data(), count * sizeof(T));
    return out;
  }

  /** A contiguous TensorView over this buffer; throws UserError when it does not fit. */
  TensorView view(DType dtype, std::initializer_list<std::int64_t> shape) const;
  TensorView view(DType dtype, std::span<const std::int64_t> shape) const;

private:
  CUdeviceptr ptr_ = 0;
  std::size_t bytes_ = 0;
  int device_ = 0;
};

/** Binds a DeviceBuffer as an untyped device-pointer kernel argument (see launch_args.h). */
inline void bind_arg(const DeviceBuffer& b, void*& slot, ArgInfo& info, std::uint64_t&) {
  slot = const_cast<CUdeviceptr*>(b.arg_slot());
  info = {ArgKind::device_pointer, false, DType::u8, sizeof(CUdeviceptr)};
}

/** A non-blocking CUDA stream on one device. */
class Stream {
public:
  explicit Stream(int device = 0);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  CUstream get() const { return stream_; }
  operator CUstream() const { return stream_; }
  void synchronize() const;

private:
  CUstream stream_ = nullptr;
};

/** A CUDA event for timing work on a stream. */
class Event {
public:
  explicit Event(int device = 0);
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  void record(CUstream stream = nullptr);
  void synchronize() const;
  /** Milliseconds between two recorded, completed events. */
  static float elapsed_ms(const Event& start, const Event& end);

private:
  CUevent event_ = nullptr;
};

/** Waits for all work in the primary context of `device`. */
void synchronize_device(int device = 0);

} // namespace tessera
