// GPU tests (label gpu): need a CUDA driver and device and FAIL without them.
#include "base/error.h"
#include "base/float16.h"
#include "runtime/compile_cuda.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

using namespace tessera;
using Catch::Matchers::Contains;

namespace {

CompileOptions auto_arch() {
  CompileOptions o;
  o.arch = "auto"; // the arch of device 0
  return o;
}

unsigned blocks_for(int n, unsigned block) {
  return (static_cast<unsigned>(n) + block - 1) / block;
}

std::vector<float> random_floats(int n, std::uint32_t seed, float lo = -2.0f, float hi = 2.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) {
    x = dist(rng);
  }
  return v;
}

const char* kBf16Source = R"(#include <cuda_bf16.h>
extern "C" __global__ void bf16_axpby(__nv_bfloat16* out, const __nv_bfloat16* x,
                                      const __nv_bfloat16* y, float a, float b, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) {
    float r = __fmaf_rn(a, __bfloat162float(x[i]), b * __bfloat162float(y[i]));
    out[i] = __float2bfloat16_rn(r);
  }
}
)";

} // namespace

TEST_CASE("a CUDA driver and device are present", "[gpu]") {
  INFO(driver_unavailable_reason());
  REQUIRE(driver_available());
  REQUIRE(device_count() > 0);
  const DeviceInfo& info = device_info(0);
  CHECK(info.sm_count > 0);
  CHECK(info.l2_bytes > 0);
  CHECK(info.max_shared_per_block_optin >= info.max_shared_per_block);
  CHECK(info.arch == arch_for(info.cc_major, info.cc_minor));
  WARN("device 0: " << info.name << ", " << info.arch << ", " << info.sm_count << " SMs, driver "
                    << driver().version);
}

TEST_CASE("device buffers round-trip and fill", "[gpu]") {
  const auto host = random_floats(1000, 1);
  DeviceBuffer buf = DeviceBuffer::from_host(host);
  CHECK(buf.size() == host.size() * sizeof(float));
  CHECK(buf.to_host<float>(host.size()) == host);
  buf.fill_bytes(0xff);
  for (float v : buf.to_host<float>(host.size())) {
    REQUIRE(std::isnan(v));
  }
  DeviceBuffer moved = std::move(buf);
  CHECK(buf.size() == 0);
  CHECK(moved.size() == host.size() * sizeof(float));
  CHECK_THROWS_AS(moved.copy_to_host(nullptr, moved.size() + 1), UserError);
  CHECK_THROWS_AS(moved.view(DType::f32, {1001}), UserError);
}

TEST_CASE("a bf16 kernel compiles, launches and matches the host reference", "[gpu]") {
  const int n = 10007; // not a multiple of the block
  const auto xf = random_floats(n, 2);
  const auto yf = random_floats(n, 3);
  std::vector<bf16> x(n), y(n);
  for (int i = 0; i < n; ++i) {
    x[i] = bf16(xf[i]);
    y[i] = bf16(yf[i]);
  }
  const float a = 1.375f, b = -0.8125f;
  DeviceBuffer dx = DeviceBuffer::from_host(x), dy = DeviceBuffer::from_host(y);
  DeviceBuffer dout(n * sizeof(bf16));
  dout.fill_bytes(0xff); // poison

  auto program = compile_cuda(kBf16Source, {"bf16_axpby"}, auto_arch());
  CHECK(program->arch() == device_info(0).arch);
  DeviceFunction k = program->kernel("bf16_axpby");
  CHECK(k.resources().origin == "driver");
  CHECK(k.resources().registers > 0);
  CHECK(k.resources().local_bytes == 0);
  CHECK(k.params().size() == 6);
  k.set_signature({ParamDecl::pointer(DType::bf16, "out"), ParamDecl::pointer(DType::bf16, "x"),
                   ParamDecl::pointer(DType::bf16, "y"), ParamDecl::scalar(DType::f32, "a"),
                   ParamDecl::scalar(DType::f32, "b"), ParamDecl::scalar(DType::i32, "n")});
  LaunchConfig cfg;
  cfg.grid = Dim3(blocks_for(n, 256));
  cfg.block = Dim3(256);
  k.launch(cfg, dout.view(DType::bf16, {n}), dx.view(DType::bf16, {n}), dy.view(DType::bf16, {n}),
           a, b, n);
  synchronize_device();
  const auto out = dout.to_host<bf16>(n);
  for (int i = 0; i < n; ++i) {
    const float ref = std::fma(a, float(x[i]), b * float(y[i]));
    INFO("element " << i);
    REQUIRE(out[i].bits == bf16(ref).bits);
  }
}

TEST_CASE("dynamic shared memory above 48 KB", "[gpu]") {
  const char* src = R"(
extern "C" __global__ void big_smem(float* out, const float* in, int per_block) {
  extern __shared__ float buf[];
  const int base = blockIdx.x * per_block;
  for (int i = threadIdx.x; i < per_block; i += blockDim.x) buf[i] = in[base + i];
  __syncthreads();
  for (int i = threadIdx.x; i < per_block; i += blockDim.x)
    out[base + i] = buf[per_block - 1 - i] * 2.0f;
}
)";
  const int per_block = 100 * 1024 / 4; // 100 KB of shared memory per block
  const unsigned blocks = 6;
  const int n = per_block * static_cast<int>(blocks);
  REQUIRE(device_info(0).max_shared_per_block_optin >= 100 * 1024);
  const auto in = random_floats(n, 4);
  DeviceBuffer din = DeviceBuffer::from_host(in);
  DeviceBuffer dout(n * sizeof(float));
  dout.fill_bytes(0xff);
  DeviceFunction k = compile_cuda(src, auto_arch())->kernel("big_smem");
  LaunchConfig cfg;
  cfg.grid = Dim3(blocks);
  cfg.block = Dim3(256);
  cfg.shared_bytes = per_block * sizeof(float);
  k.launch(cfg, dout, din, per_block);
  synchronize_device();
  const auto out = dout.to_host<float>(n);
  for (int blk = 0; blk < static_cast<int>(blocks); ++blk) {
    for (int i = 0; i < per_block; ++i) {
      INFO("block " << blk << " element " << i);
      REQUIRE(out[blk * per_block + i] == in[blk * per_block + per_block - 1 - i] * 2.0f);
    }
  }
  // More than the device allows is refused before reaching the driver.
  cfg.shared_bytes = static_cast<unsigned>(device_info(0).max_shared_per_block_optin) + 1024;
  CHECK_THROWS_AS(k.launch(cfg, dout, din, per_block), UserError);
}

TEST_CASE("programmatic dependent launch of two dependent kernels", "[gpu]") {
  const char* src = R"(
extern "C" __global__ void producer(float* a, const float* in, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) {
    float v = in[i];
    for (int k = 0; k < 256; ++k) v = __fmaf_rn(v, 0.999f, 0.001f);
    a[i] = v;
  }
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
}
extern "C" __global__ void consumer(float* out, const float* a, int n) {
  // Everything before this line may overlap the producer's tail.
  asm volatile("griddepcontrol.wait;" ::: "memory");
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = a[i] + 1.0f;
}
)";
  REQUIRE(device_info(0).cc_major >= 9);
  const int n = 1 << 20;
  const auto in = random_floats(n, 5);
  std::vector<float> ref(n);
  for (int i = 0; i < n; ++i) {
    float v = in[i];
    for (int k = 0; k < 256; ++k) {
      v = std::fma(v, 0.999f, 0.001f);
    }
    ref[i] = v + 1.0f;
  }
  auto program = compile_cuda(src, auto_arch());
  DeviceFunction producer = program->kernel("producer");
  DeviceFunction consumer = program->kernel("consumer");
  DeviceBuffer din = DeviceBuffer::from_host(in);
  DeviceBuffer da(n * sizeof(float)), dout(n * sizeof(float));
  Stream stream;
  LaunchConfig cfg;
  cfg.grid = Dim3(blocks_for(n, 256));
  cfg.block = Dim3(256);
  cfg.stream = stream;
  LaunchConfig dependent = cfg;
  dependent.pdl = true;
  for (int rep = 0; rep < 5; ++rep) {
    da.fill_bytes(0xff);
    dout.fill_bytes(0xff);
    producer.launch(cfg, da, din, n);
    consumer.launch(dependent, dout, da, n);
    stream.synchronize();
    const auto out = dout.to_host<float>(n);
    for (int i = 0; i < n; ++i) {
      INFO("rep " << rep << " element " << i);
      REQUIRE(out[i] == ref[i]);
    }
  }
}

TEST_CASE("thread-block clusters", "[gpu]") {
  const char* src = R"(
extern "C" __global__ void cluster_ids(int* out) {
  unsigned rank, size;
  asm volatile("mov.u32 %0, %%cluster_ctarank;" : "=r"(rank));
  asm volatile("mov.u32 %0, %%cluster_nctarank;" : "=r"(size));
  if (threadIdx.x == 0) out[blockIdx.x] = int(rank * 100 + size);
}
)";
  REQUIRE(device_info(0).cc_major >= 9);
  DeviceFunction k = compile_cuda(src, auto_arch())->kernel();
  const unsigned blocks = 16;
  DeviceBuffer dout(blocks * sizeof(int));
  dout.fill_bytes(0xff);
  LaunchConfig cfg;
  cfg.grid = Dim3(blocks);
  cfg.block = Dim3(64);
  cfg.cluster = Dim3(2);
  k.launch(cfg, dout);
  synchronize_device();
  const auto out = dout.to_host<int>(blocks);
  for (unsigned b = 0; b < blocks; ++b) {
    CHECK(out[b] == int((b % 2) * 100 + 2));
  }
  cfg.cluster = Dim3(3); // does not divide the grid
  CHECK_THROWS_AS(k.launch(cfg, dout), UserError);
}

TEST_CASE("a launch with wrong arguments is refused and nothing runs", "[gpu]") {
  const char* src = R"(
extern "C" __global__ void scale(float* y, const float* x, float a, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i];
}
)";
  const int n = 4096;
  const auto x = random_floats(n, 6);
  DeviceBuffer dx = DeviceBuffer::from_host(x);
  DeviceBuffer dy(n * sizeof(float));
  dy.fill_bytes(0x7f);
  DeviceFunction k = compile_cuda(src, auto_arch())->kernel("scale");
  LaunchConfig cfg;
  cfg.grid = Dim3(blocks_for(n, 128));
  cfg.block = Dim3(128);
  float* y = static_cast<float*>(dy.data());
  const float* xp = static_cast<const float*>(dx.data());
  CHECK_THROWS_WITH(k.launch(cfg, y, xp, 2.0f), Contains("takes 4 arguments, 3 given"));
  CHECK_THROWS_WITH(k.launch(cfg, y, xp, 2.0, n), Contains("argument 2 takes 4 bytes"));
  CHECK_THROWS_WITH(k.launch(cfg, y, xp, 2.0f, std::int64_t{n}),
                    Contains("argument 3 takes 4 bytes"));
  float host[4];
  CHECK_THROWS_WITH(k.launch(cfg, TensorView(host, DType::f32, {4}, MemoryKind::host), xp, 2.0f, n),
                    Contains("host memory"));
  k.set_signature({ParamDecl::pointer(DType::f32, "y"), ParamDecl::pointer(DType::f32, "x"),
                   ParamDecl::scalar(DType::f32, "a"), ParamDecl::scalar(DType::i32, "n")});
  CHECK_THROWS_WITH(k.launch(cfg, dy.view(DType::bf16, {n}), xp, 2.0f, n),
                    Contains("argument 0 'y' expects a pointer to f32, got a pointer to bf16"));
  CHECK_THROWS_WITH(k.launch(cfg, y, xp, 2, n), Contains("argument 2 'a' expects a f32 scalar"));
  LaunchConfig too_big = cfg;
  too_big.block = Dim3(2048);
  CHECK_THROWS_AS(k.launch(too_big, y, xp, 2.0f, n), UserError);
  CHECK_THROWS_AS(k.set_signature({ParamDecl::pointer(DType::f32, "y")}), UserError);
  synchronize_device();
  // Nothing was launched: the output still holds the poison.
  std::vector<std::uint8_t> bytes = dy.to_host<std::uint8_t>(n * sizeof(float));
  for (auto v : bytes) {
    REQUIRE(v == 0x7f);
  }
  // A correct launch goes through.
  k.launch(cfg, y, xp, 2.0f, n);
  synchronize_device();
  const auto out = dy.to_host<float>(n);
  for (int i = 0; i < n; ++i) {
    REQUIRE(out[i] == 2.0f * x[i]);
  }
}

TEST_CASE("compiled programs are cached and loaded modules reused", "[gpu]") {
  const char* src = "extern \"C\" __global__ void noop() {}\n";
  auto p1 = compile_cuda(src, auto_arch());
  auto p2 = compile_cuda(src, auto_arch());
  CHECK(p1.get() == p2.get());
  CHECK(p1->module().get() == p2->module().get());
  DeviceFunction k = p1->kernel();
  CHECK(k.params().empty());
  LaunchConfig cfg;
  k.launch(cfg);
  synchronize_device();
}
