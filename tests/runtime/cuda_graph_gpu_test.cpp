// CudaGraph on a device (label gpu): a captured sequence of kernel launches replays with the
// same effect as running it eagerly, a throwing recorder leaves the stream usable, and replays
// can be timed.
#include "base/error.h"
#include "runtime/compile_cuda.h"
#include "runtime/cuda_graph.h"
#include "runtime/memory.h"
#include "runtime/tensor_storage.h"

#include <catch2/catch.hpp>
#include <random>
#include <stdexcept>
#include <vector>

using namespace tessera;

namespace {

const char* kScaleAdd = R"(
extern "C" __global__ void scale_add(float* y, const float* x, float a, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * y[i] + x[i];
}
)";

DeviceFunction scale_add() {
  CompileOptions o;
  o.arch = "auto";
  return compile_cuda(kScaleAdd, o)->kernel("scale_add");
}

} // namespace

TEST_CASE("a captured graph replays like eager launches", "[gpu][graph]") {
  const int n = 5000;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> x(n), y0(n);
  for (int i = 0; i < n; ++i) {
    x[i] = dist(rng);
    y0[i] = dist(rng);
  }
  const TensorStorage dx = TensorStorage::from_host(MemoryKind::cuda, x);
  TensorStorage dy = TensorStorage::from_host(MemoryKind::cuda, y0);
  const DeviceFunction k = scale_add();
  Stream stream;
  LaunchConfig cfg;
  cfg.grid = Dim3((n + 255) / 256);
  cfg.block = Dim3(256);
  cfg.stream = stream;
  // Two dependent launches: y = 0.5·(2·y + x) + x.
  auto record = [&] {
    k.launch(cfg, dy.view(DType::f32, {n}), dx.view(DType::f32, {n}), 2.0f, n);
    k.launch(cfg, dy.view(DType::f32, {n}), dx.view(DType::f32, {n}), 0.5f, n);
  };
  CudaGraph graph(stream, record);
  // Capturing ran nothing.
  CHECK(dy.to_host<float>(n) == y0);
  graph.launch(stream);
  graph.launch(stream);
  stream.synchronize();
  const std::vector<float> replayed = dy.to_host<float>(n);

  dy.upload(y0.data(), n * sizeof(float));
  record();
  record();
  stream.synchronize();
  CHECK(dy.to_host<float>(n) == replayed);

  const std::vector<double> ms = time_replays_ms(graph, stream, 5);
  REQUIRE(ms.size() == 5);
  for (double t : ms) {
    CHECK(t > 0);
  }
}

TEST_CASE("a recorder that throws ends the capture", "[gpu][graph]") {
  Stream stream;
  CHECK_THROWS_WITH(CudaGraph(stream, [] { throw std::runtime_error("recorder failed"); }),
                    "recorder failed");
  // The stream is not left capturing: an ordinary capture works afterwards.
  TensorStorage y(MemoryKind::cuda, 4 * sizeof(float));
  y.fill_bytes(0);
  const DeviceFunction k = scale_add();
  LaunchConfig cfg;
  cfg.grid = Dim3(1);
  cfg.block = Dim3(32);
  cfg.stream = stream;
  CudaGraph graph(
      stream, [&] { k.launch(cfg, y.view(DType::f32, {4}), y.view(DType::f32, {4}), 1.0f, 4); });
  graph.launch(stream);
  stream.synchronize();
  CHECK(y.to_host<float>(4) == std::vector<float>(4, 0.0f));
}
