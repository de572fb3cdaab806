// TensorStorage (runtime/tensor_storage.h) in host memory, which needs no GPU: round trips,
// fills, views and the range checks; and its device side without a driver ([.no-driver]).
#include "base/error.h"
#include "base/float16.h"
#include "runtime/driver.h"
#include "runtime/tensor_storage.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

using namespace tessera;
using Catch::Matchers::Contains;

namespace {

std::vector<float> random_floats(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 3.0f);
  std::vector<float> v(n);
  for (float& x : v) {
    x = dist(rng);
  }
  return v;
}

} // namespace

TEST_CASE("host TensorStorage round-trips, fills and is aligned", "[runtime][storage]") {
  const std::vector<float> values = random_floats(1000, 7);
  TensorStorage s = TensorStorage::from_host(MemoryKind::host, values);
  CHECK(s.memory() == MemoryKind::host);
  CHECK(s.size() == values.size() * sizeof(float));
  CHECK(reinterpret_cast<std::uintptr_t>(s.data()) % kHostAlignment == 0);
  CHECK(s.to_host<float>(values.size()) == values);

  // A partial upload at an offset changes only that range.
  const std::vector<float> patch = random_floats(10, 8);
  s.upload(patch.data(), patch.size() * sizeof(float), 100 * sizeof(float));
  const std::vector<float> after = s.to_host<float>(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    INFO("element " << i);
    REQUIRE(after[i] == (i >= 100 && i < 110 ? patch[i - 100] : values[i]));
  }

  s.poison();
  for (float v : s.to_host<float>(values.size())) {
    REQUIRE(std::isnan(v));
  }
  for (bf16 v : s.to_host<bf16>(values.size() * 2)) {
    REQUIRE(std::isnan(static_cast<float>(v)));
  }
  s.fill_bytes(0);
  for (float v : s.to_host<float>(values.size())) {
    REQUIRE(v == 0.0f);
  }
}

TEST_CASE("host TensorStorage views and range checks", "[runtime][storage]") {
  TensorStorage s(MemoryKind::host, 24 * sizeof(float));
  const TensorView v = s.view(DType::f32, {2, 3, 4});
  CHECK(v.data() == s.data());
  CHECK(v.memory() == MemoryKind::host);
  CHECK(v.is_contiguous());
  CHECK(v.nbytes() == 96);
  CHECK_THROWS_WITH(s.view(DType::f32, {25}), Contains("needs 100 bytes") && Contains("96"));
  std::vector<std::uint8_t> bytes(200);
  CHECK_THROWS_WITH(s.upload(bytes.data(), 97), Contains("exceeds the storage's 96 bytes"));
  CHECK_THROWS_WITH(s.download(bytes.data(), 8, 90), Contains("[90, 98)"));
  CHECK_NOTHROW(s.download(bytes.data(), 8, 88));

  // Empty storage still has an aligned address; a T = 0 view fits.
  TensorStorage empty(MemoryKind::host, 0);
  CHECK(empty.data() != nullptr);
  CHECK(empty.view(DType::bf16, {0, 4096}).numel() == 0);
}

TEST_CASE("moving TensorStorage leaves the source empty", "[runtime][storage]") {
  const std::vector<std::int32_t> values = {1, -2, 3, -4, 5};
  TensorStorage a = TensorStorage::from_host(MemoryKind::host, values);
  void* const data = a.data();
  TensorStorage b = std::move(a);
  CHECK(a.size() == 0);
  CHECK(b.data() == data);
  CHECK(b.to_host<std::int32_t>(5) == values);
  TensorStorage c(MemoryKind::host, 4);
  c = std::move(b);
  CHECK(b.size() == 0);
  CHECK(c.to_host<std::int32_t>(5) == values);
  CHECK_NOTHROW(a.fill_bytes(1)); // empty: nothing to fill
}

TEST_CASE("device TensorStorage without a driver", "[.no-driver]") {
  REQUIRE_FALSE(driver_available());
  CHECK_THROWS_WITH(TensorStorage(MemoryKind::cuda, 1024), Contains("no CUDA driver found"));
  const std::vector<float> values(4, 1.0f);
  CHECK_THROWS_AS(TensorStorage::from_host(MemoryKind::cuda, values), DriverError);
  // Host storage does not touch the driver.
  CHECK(TensorStorage::from_host(MemoryKind::host, values).to_host<float>(4) == values);
}

TEST_CASE("TensorView contiguity ignores size-1 dimensions and empty tensors", "[runtime][view]") {
  float data[8] = {};
  const std::int64_t shape[] = {2, 1, 4};
  const std::int64_t row_major[] = {4, 99, 1};
  CHECK(TensorView(data, DType::f32, shape, row_major, MemoryKind::host).is_contiguous());
  const std::int64_t transposed[] = {1, 4, 2};
  CHECK_FALSE(TensorView(data, DType::f32, shape, transposed, MemoryKind::host).is_contiguous());
  // numpy reports strides (0, 0) for an empty array; no element can be out of place.
  const std::int64_t empty_shape[] = {0, 512};
  const std::int64_t zero_strides[] = {0, 0};
  CHECK(TensorView(data, DType::bf16, empty_shape, zero_strides, MemoryKind::host).is_contiguous());
}
