#include "runtime/memory.h"

#include "base/error.h"
#include "runtime/driver.h"

#include <fmt/format.h>
#include <utility>

namespace tessera {

namespace {

void check_range(std::size_t offset, std::size_t bytes, std::size_t size, const char* what) {
  if (offset > size || bytes > size - offset) {
    throw UserError(fmt::format("DeviceBuffer::{}: range [{}, {}) exceeds the buffer's {} bytes",
                                what, offset, offset + bytes, size));
  }
}

} // namespace

DeviceBuffer::DeviceBuffer(std::size_t bytes, int device) : bytes_(bytes), device_(device) {
  use_device(device);
  if (bytes > 0) {
    check(driver().cuMemAlloc(&ptr_, bytes), "cuMemAlloc");
  }
}

DeviceBuffer::~DeviceBuffer() {
  if (ptr_) {
    // Errors (e.g. CUDA_ERROR_DEINITIALIZED at exit) cannot be reported from a destructor.
    try {
      use_device(device_);
      driver().cuMemFree(ptr_);
    } catch (const Error&) {
    }
  }
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : ptr_(std::exchange(other.ptr_, 0)), bytes_(std::exchange(other.bytes_, 0)),
      device_(other.device_) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    DeviceBuffer old(std::move(*this));
    ptr_ = std::exchange(other.ptr_, 0);
    bytes_ = std::exchange(other.bytes_, 0);
    device_ = other.device_;
  }
  return *this;
}

void DeviceBuffer::copy_from_host(const void* src, std::size_t bytes, std::size_t offset) {
  check_range(offset, bytes, bytes_, "copy_from_host");
  if (bytes == 0) {
    return;
  }
  use_device(device_);
  check(driver().cuMemcpyHtoD(ptr_ + offset, src, bytes), "cuMemcpyHtoD");
  // From pageable memory the call may return before the DMA lands; wait so that kernels on
  // non-blocking streams see the data.
  check(driver().cuStreamSynchronize(nullptr), "cuStreamSynchronize");
}

void DeviceBuffer::copy_to_host(void* dst, std::size_t bytes, std::size_t offset) const {
  check_range(offset, bytes, bytes_, "copy_to_host");
  if (bytes == 0) {
    return;
  }
  use_device(device_);
  check(driver().cuMemcpyDtoH(dst, ptr_ + offset, bytes), "cuMemcpyDtoH");
}

void DeviceBuffer::fill_bytes(std::uint8_t value) {
  if (bytes_ == 0) {
    return;
  }
  use_device(device_);
  check(driver().cuMemsetD8(ptr_, value, bytes_), "cuMemsetD8");
  // cuMemsetD8 is asynchronous to the host; make it complete before non-blocking streams run.
  check(driver().cuStreamSynchronize(nullptr), "cuStreamSynchronize");
}

TensorView DeviceBuffer::view(DType dtype, std::initializer_list<std::int64_t> shape) const {
  return view(dtype, std::span<const std::int64_t>(shape.begin(), shape.size()));
}

TensorView DeviceBuffer::view(DType dtype, std::span<const std::int64_t> shape) const {
  TensorView v(data(), dtype, shape, MemoryKind::cuda, device_);
  if (static_cast<std::size_t>(v.nbytes()) > bytes_) {
    throw UserError(fmt::format("DeviceBuffer::view: {} needs {} bytes but the buffer has {}",
                                v.describe(), v.nbytes(), bytes_));
  }
  return v;
}

Stream::Stream(int device) {
  use_device(device);
  check(driver().cuStreamCreate(&stream_, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
}

Stream::~Stream() {
  if (stream_) {
    driver().cuStreamDestroy(stream_);
  }
}

void Stream::synchronize() const {
  check(driver().cuStreamSynchronize(stream_), "cuStreamSynchronize");
}

Event::Event(int device) {
  use_device(device);
  check(driver().cuEventCreate(&event_, CU_EVENT_DEFAULT), "cuEventCreate");
}

Event::~Event() {
  if (event_) {
    driver().cuEventDestroy(event_);
  }
}

void Event::record(CUstream stream) {
  check(driver().cuEventRecord(event_, stream), "cuEventRecord");
}

void Event::synchronize() const {
  check(driver().cuEventSynchronize(event_), "cuEventSynchronize");
}

float Event::elapsed_ms(const Event& start, const Event& end) {
  float ms = 0;
  check(driver().cuEventElapsedTime(&ms, start.event_, end.event_), "cuEventElapsedTime");
  return ms;
}

void synchronize_device(int device) {
  use_device(device);
  check(driver().cuCtxSynchronize(), "cuCtxSynchronize");
}

} // namespace tessera
