// rmsnorm: one row per block, bf16 in and out, fp32 math. The row is spread over the threads
// (8 bf16 = 16 bytes per load), squared and summed with a block reduction, then scaled.
// Runs hidden = 4096 and a tail size (4100) on the GPU (else the LLVM CPU backend) and checks
// against a double-precision C++ reference.
#include "examples/example_util.h"
#include "examples/kernels.h"

using namespace tessera;

namespace {

std::size_t run(Target target, int hidden, std::int64_t tokens) {
  const float eps = 1e-6f;
  const CompiledKernel k = Runtime::compile(examples::rmsnorm(hidden, eps), target);
  const auto xf = examples::random_floats(tokens * hidden, 3);
  const auto wf = examples::random_floats(hidden, 4, 0.5f, 1.5f);
  const auto x = examples::to_bf16(xf), w = examples::to_bf16(wf);
  TensorStorage dx = TensorStorage::from_host(memory_kind(target), x);
  TensorStorage dw = TensorStorage::from_host(memory_kind(target), w);
  TensorStorage dy(memory_kind(target), tokens * hidden * sizeof(bf16));
  dy.poison();
  k.launch(nullptr, dx.view(DType::bf16, {tokens, hidden}), dw.view(DType::bf16, {hidden}),
           dy.view(DType::bf16, {tokens, hidden}));
  const auto y = dy.to_host<bf16>(tokens * hidden);
  std::vector<double> want(tokens * hidden);
  for (std::int64_t t = 0; t < tokens; ++t) {
    double ss = 0;
    for (int h = 0; h < hidden; ++h) {
      const double v = static_cast<float>(x[t * hidden + h]);
      ss += v * v;
    }
    const double r = 1.0 / std::sqrt(ss / hidden + eps);
    for (int h = 0; h < hidden; ++h) {
      want[t * hidden + h] = static_cast<float>(x[t * hidden + h]) * r * static_cast<float>(w[h]);
    }
  }
  // One bf16 rounding of the output: half an ulp relative (2^-8), plus fp32 accumulation noise.
  return examples::count_mismatches("y", y, want, 1e-5, 1.0 / 128);
}

} // namespace

int main() {
  const std::optional<Target> target = examples::run_target();
  if (!target) {
    return examples::no_target(examples::rmsnorm(4096));
  }
  std::size_t bad = 0;
  for (int hidden : {4096, 4100}) {
    for (std::int64_t tokens : {1, 7, 1000}) {
      bad += run(*target, hidden, tokens);
    }
  }
  return bad == 0 ? 0 : 1;
}
