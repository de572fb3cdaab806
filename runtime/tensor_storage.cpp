#include "runtime/tensor_storage.h"

#include "base/error.h"

#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <utility>

namespace tessera {

namespace {

void check_range(std::size_t offset, std::size_t bytes, std::size_t size, const char* what) {
  if (offset > size || bytes > size - offset) {
    throw UserError(fmt::format("TensorStorage::{}: range [{}, {}) exceeds the storage's {} bytes",
                                what, offset, offset + bytes, size));
  }
}

} // namespace

void TensorStorage::FreeHost::operator()(std::byte* p) const {
  std::free(p);
}

TensorStorage::TensorStorage(MemoryKind memory, std::size_t bytes, int device)
    : memory_(memory), device_(memory == MemoryKind::cuda ? device : 0), bytes_(bytes) {
  if (memory == MemoryKind::cuda) {
    device_buffer_ = DeviceBuffer(bytes, device);
    return;
  }
  // Never zero bytes: an empty storage still has a valid, aligned address.
  const std::size_t rounded = (bytes / kHostAlignment + 1) * kHostAlignment;
  host_.reset(static_cast<std::byte*>(std::aligned_alloc(kHostAlignment, rounded)));
  if (!host_) {
    throw UserError(fmt::format("TensorStorage: out of host memory ({} bytes)", bytes));
  }
}

TensorStorage::TensorStorage(TensorStorage&& other) noexcept
    : memory_(other.memory_), device_(other.device_), bytes_(std::exchange(other.bytes_, 0)),
      host_(std::move(other.host_)), device_buffer_(std::move(other.device_buffer_)) {}

TensorStorage& TensorStorage::operator=(TensorStorage&& other) noexcept {
  if (this != &other) {
    memory_ = other.memory_;
    device_ = other.device_;
    bytes_ = std::exchange(other.bytes_, 0);
    host_ = std::move(other.host_);
    device_buffer_ = std::move(other.device_buffer_);
  }
  return *this;
}

void* TensorStorage::data() const {
  return memory_ == MemoryKind::cuda ? device_buffer_.data() : host_.get();
}

void TensorStorage::upload(const void* src, std::size_t bytes, std::size_t offset) {
  check_range(offset, bytes, bytes_, "upload");
  if (memory_ == MemoryKind::cuda) {
    device_buffer_.copy_from_host(src, bytes, offset);
  } else if (bytes > 0) {
    std::memcpy(host_.get() + offset, src, bytes);
  }
}

void TensorStorage::download(void* dst, std::size_t bytes, std::size_t offset) const {
  check_range(offset, bytes, bytes_, "download");
  if (memory_ == MemoryKind::cuda) {
    device_buffer_.copy_to_host(dst, bytes, offset);
  } else if (bytes > 0) {
    std::memcpy(dst, host_.get() + offset, bytes);
  }
}

void TensorStorage::fill_bytes(std::uint8_t value) {
  if (memory_ == MemoryKind::cuda) {
    device_buffer_.fill_bytes(value);
  } else if (bytes_ > 0) { // an empty storage has no pointer to pass to memset
    std::memset(host_.get(), value, bytes_);
  }
}

TensorView TensorStorage::view(DType dtype, std::initializer_list<std::int64_t> shape) const {
  return view(dtype, std::span<const std::int64_t>(shape.begin(), shape.size()));
}

TensorView TensorStorage::view(DType dtype, std::span<const std::int64_t> shape) const {
  if (memory_ == MemoryKind::cuda) {
    return device_buffer_.view(dtype, shape);
  }
  TensorView v(host_.get(), dtype, shape, MemoryKind::host);
  if (static_cast<std::size_t>(v.nbytes()) > bytes_) {
    throw UserError(fmt::format("TensorStorage::view: {} needs {} bytes but the storage has {}",
                                v.describe(), v.nbytes(), bytes_));
  }
  return v;
}

} // namespace tessera
