// Launch-argument checking without a GPU: LaunchPlan::bind on fake device pointers.
#include "base/error.h"
#include "examples/kernels.h"
#include "jit/launch_plan.h"

#include <catch2/catch.hpp>

using namespace tessera;

namespace {

// Fake, 16-byte aligned "device" addresses: bind() never dereferences them.
void* addr(std::uintptr_t a) {
  return reinterpret_cast<void*>(a);
}

TensorView dev(DType t, std::initializer_list<std::int64_t> shape, std::uintptr_t a = 0x10000) {
  return TensorView(addr(a), t, shape, MemoryKind::cuda);
}

const LaunchPlan& rmsnorm_plan() {
  static const LaunchPlan plan(examples::rmsnorm(4096), 32);
  return plan;
}

template <class... A> BoundLaunch bind(const LaunchPlan& p, const A&... args) {
  const std::array<KernelArg, sizeof...(A)> a{KernelArg::from(args)...};
  BoundLaunch b;
  p.bind(std::span<const KernelArg>(a.data(), a.size()), b);
  return b;
}

} // namespace

TEST_CASE("a good launch binds dims, grid and arguments", "[codegen][launch]") {
  const auto x = dev(DType::bf16, {7, 4096}), w = dev(DType::bf16, {4096}),
             y = dev(DType::bf16, {7, 4096}, 0x20000);
  const BoundLaunch b = bind(rmsnorm_plan(), x, w, y);
  CHECK(b.grid[0] == 7);
  CHECK(b.block == 256);
  CHECK(b.shared_bytes == 32);
  CHECK_FALSE(b.empty);
  REQUIRE(b.count == 4);
  CHECK(b.storage[2] == 0x20000);
  CHECK(*static_cast<const std::int32_t*>(b.args[3]) == 7); // num_tokens
}

TEST_CASE("zero tokens: an empty grid, nothing to launch", "[codegen][launch]") {
  const BoundLaunch b = bind(rmsnorm_plan(), dev(DType::bf16, {0, 4096}), dev(DType::bf16, {4096}),
                             dev(DType::bf16, {0, 4096}));
  CHECK(b.empty);
}

TEST_CASE("argument errors name the kernel, parameter and values", "[codegen][launch][error]") {
  const auto x = dev(DType::bf16, {7, 4096}), w = dev(DType::bf16, {4096});
  const auto y = dev(DType::bf16, {7, 4096});
  CHECK_THROWS_WITH(bind(rmsnorm_plan(), x, w),
                    Catch::Contains("kernel 'rmsnorm' takes 3 arguments (x, weight, y), got 2"));
  CHECK_THROWS_WITH(bind(rmsnorm_plan(), dev(DType::f32, {7, 4096}), w, y),
                    Catch::Contains("tensor 'x' must be bf16"));
  CHECK_THROWS_WITH(bind(rmsnorm_plan(), dev(DType::bf16, {4096}), w, y),
                    Catch::Contains("tensor 'x' must have rank 2"));
  CHECK_THROWS_WITH(bind(rmsnorm_plan(), dev(DType::bf16, {7, 4000}), w, y),
                    Catch::Contains("tensor 'x' dim 1 must be 4096, got 4000"));
  CHECK_THROWS_WITH(bind(rmsnorm_plan(), x, w, dev(DType::bf16, {8, 4096})),
                    Catch::Contains("dim 'num_tokens' is 7 from tensor 'x' but tensor 'y' dim 0 "
                                    "is 8"));
  CHECK_THROWS_WITH(bind(rmsnorm_plan(), TensorView(nullptr, DType::bf16, {7, 4096}), w, y),
                    Catch::Contains("tensor 'x' has a null data pointer"));
  CHECK_THROWS_WITH(bind(rmsnorm_plan(), dev(DType::bf16, {7, 4096}, 0x10008), w, y),
                    Catch::Contains("not 16-byte aligned"));
  CHECK_THROWS_WITH(bind(rmsnorm_plan(),
                         TensorView(addr(0x10000), DType::bf16, {7, 4096}, MemoryKind::host), w, y),
                    Catch::Contains("must be in device memory"));
  const std::int64_t shape[] = {7, 4096}, strides[] = {8192, 1};
  CHECK_THROWS_WITH(
      bind(rmsnorm_plan(), TensorView(addr(0x10000), DType::bf16, shape, strides), w, y),
      Catch::Contains("must be contiguous"));
  CHECK_THROWS_WITH(bind(rmsnorm_plan(), x, 1.0f, y),
                    Catch::Contains("argument 1 ('weight') is a bf16 tensor, got a scalar"));
}

TEST_CASE("scalar parameters are type-checked", "[codegen][launch][error]") {
  const LaunchPlan plan(examples::gated_residual(256), 0);
  const auto t = dev(DType::bf16, {3, 256}), g = dev(DType::f32, {3});
  CHECK(bind(plan, t, t, g, t, 0.5f).grid[0] == 3);
  CHECK_THROWS_WITH(bind(plan, t, t, g, t, 0.5),
                    Catch::Contains("scalar argument 4 ('scale') must be f32, got f64"));
  CHECK_THROWS_WITH(bind(plan, t, t, g, t, g),
                    Catch::Contains("argument 4 ('scale') is a scalar f32, got a tensor"));
}
