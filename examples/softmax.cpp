// softmax: row softmax, one row per block: max-reduce, exp, sum-reduce, scale. Checks against a
// double-precision C++ reference for a power-of-two row and a ragged one. Runs on the GPU when
// one is present, else on the LLVM CPU backend.
#include "examples/example_util.h"
#include "examples/kernels.h"

using namespace tessera;

namespace {

std::size_t run(Target target, int cols, std::int64_t rows) {
  const CompiledKernel k = Runtime::compile(examples::softmax(cols), target);
  const auto x = examples::random_floats(rows * cols, 5, -8.0f, 8.0f);
  TensorStorage dx = TensorStorage::from_host(memory_kind(target), x);
  TensorStorage dy(memory_kind(target), rows * cols * sizeof(float));
  dy.poison();
  k.launch(nullptr, dx.view(DType::f32, {rows, cols}), dy.view(DType::f32, {rows, cols}));
  const auto y = dy.to_host<float>(rows * cols);
  std::vector<double> want(rows * cols);
  for (std::int64_t r = 0; r < rows; ++r) {
    double m = -INFINITY, s = 0;
    for (int c = 0; c < cols; ++c) {
      m = std::max(m, static_cast<double>(x[r * cols + c]));
    }
    for (int c = 0; c < cols; ++c) {
      s += std::exp(x[r * cols + c] - m);
    }
    for (int c = 0; c < cols; ++c) {
      want[r * cols + c] = std::exp(x[r * cols + c] - m) / s;
    }
  }
  return examples::count_mismatches("y", y, want, 1e-7, 1e-5);
}

} // namespace

int main() {
  const std::optional<Target> target = examples::run_target();
  if (!target) {
    return examples::no_target(examples::softmax(1024));
  }
  std::size_t bad = 0;
  for (int cols : {1024, 1000, 37}) {
    for (std::int64_t rows : {1, 333}) {
      bad += run(*target, cols, rows);
    }
  }
  return bad == 0 ? 0 : 1;
}
