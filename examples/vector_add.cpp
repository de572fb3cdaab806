// vector_add: the smallest Tessera program. z = x + y over f32 vectors of any length; each block
// adds 1024 elements with 16-byte loads and stores, and the last block's tail is bounds-checked.
// Runs on the GPU when one is present, else on the LLVM CPU backend; checks itself against a
// C++ computation and exits non-zero on a mismatch.
#include "examples/example_util.h"
#include "examples/kernels.h"

using namespace tessera;

int main() {
  const ir::Kernel kernel = examples::vector_add();
  const std::optional<Target> target = examples::run_target();
  if (!target) {
    return examples::no_target(kernel);
  }
  const CompiledKernel k = Runtime::compile(kernel, *target);
  std::size_t bad = 0;
  for (std::int64_t n : {1, 1000, 1024, 1 << 20, (1 << 20) + 3}) {
    const auto x = examples::random_floats(n, 1), y = examples::random_floats(n, 2);
    TensorStorage dx = TensorStorage::from_host(memory_kind(*target), x);
    TensorStorage dy = TensorStorage::from_host(memory_kind(*target), y);
    TensorStorage dz(memory_kind(*target), n * sizeof(float));
    dz.poison(); // NaN poison: unwritten elements fail the check
    k.launch(nullptr, dx.view(DType::f32, {n}), dy.view(DType::f32, {n}), dz.view(DType::f32, {n}));
    const auto z = dz.to_host<float>(n);
    std::vector<double> want(n);
    for (std::int64_t i = 0; i < n; ++i) {
      want[i] = static_cast<double>(x[i]) + y[i];
    }
    bad += examples::count_mismatches("z", z, want, 1e-6, 1e-6);
  }
  return bad == 0 ? 0 : 1;
}
