// tutorial: the "write your own kernel" walk-through of docs/dsl.md.
//   out[t, :] = bf16(x[t, :] + scale * sigmoid(gate[t]) * y[t, :])
// It shows a dynamic dim, a scalar parameter, a per-thread local, fragments, a parallel loop,
// copies with dtype conversion, how to inspect the generated CUDA, and a launch — on the GPU when
// one is present, else on the LLVM CPU backend (the same kernel, host tensors).
#include "examples/example_util.h"
#include "examples/kernels.h"
#include "ir/printer.h"

using namespace tessera;

int main() {
  const int hidden = 2048;
  const ir::Kernel kernel = examples::gated_residual(hidden);
  std::printf("%s\n", ir::to_string(kernel).c_str()); // the traced tile IR
  const std::optional<Target> target = examples::run_target();
  if (!target) {
    return examples::no_target(kernel);
  }
  std::printf("%s\n", Runtime::emit(kernel).c_str()); // the generated CUDA
  const CompiledKernel k = Runtime::compile(kernel, *target);
  const std::int64_t tokens = 100;
  const float scale = 0.75f;
  const auto x = examples::to_bf16(examples::random_floats(tokens * hidden, 6));
  const auto y = examples::to_bf16(examples::random_floats(tokens * hidden, 7));
  const auto gate = examples::random_floats(tokens, 8);
  TensorStorage dx = TensorStorage::from_host(memory_kind(*target), x);
  TensorStorage dy = TensorStorage::from_host(memory_kind(*target), y);
  TensorStorage dg = TensorStorage::from_host(memory_kind(*target), gate);
  TensorStorage dout(memory_kind(*target), tokens * hidden * sizeof(bf16));
  dout.poison();
  k.launch(nullptr, dx.view(DType::bf16, {tokens, hidden}), dy.view(DType::bf16, {tokens, hidden}),
           dg.view(DType::f32, {tokens}), dout.view(DType::bf16, {tokens, hidden}), scale);
  const auto out = dout.to_host<bf16>(tokens * hidden);
  std::vector<double> want(tokens * hidden);
  for (std::int64_t t = 0; t < tokens; ++t) {
    const double g = scale / (1.0 + std::exp(-static_cast<double>(gate[t])));
    for (int h = 0; h < hidden; ++h) {
      const std::int64_t i = t * hidden + h;
      want[i] = static_cast<float>(x[i]) + g * static_cast<float>(y[i]);
    }
  }
  return examples::count_mismatches("out", out, want, 1e-5, 1.0 / 128) == 0 ? 0 : 1;
}
