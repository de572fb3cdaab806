// A program built against an installed Tessera (find_package(tessera)): defines a DSL kernel,
// prints the CUDA it lowers to and compiles it for sm_90a with NVRTC (no GPU needed), then runs
// it on the GPU when one is present, else on the LLVM CPU backend when the install has it, and
// checks every element against a C++ computation. Exit status 1 on a mismatch.
#include "base/error.h"
#include "dsl/builder.h"
#include "jit/compiled_kernel.h"
#include "jit/target.h"
#include "runtime/memory.h"

#include <cmath>
#include <cstdio>
#include <exception>
#include <vector>

using namespace tessera;

namespace {

// y = a * x + b over an f32 vector of any length, 512 elements per block.
ir::Kernel axpb() {
  using namespace dsl;
  constexpr int kBlock = 512;
  KernelBuilder kb("axpb");
  Dim n = kb.dim("n");
  auto x = kb.input("x", f32, {n});
  auto y = kb.output("y", f32, {n});
  Expr a = kb.scalar("a", f32);
  Expr b = kb.scalar("b", f32);
  kb.launch(grid(ceil_div(n, kBlock)), threads(128), [&](Var blk) {
    auto t = fragment(f32, {kBlock}, "t");
    copy(x[tile(blk, kBlock)], t);
    parallel({kBlock}, [&](Var i) { t[i] = a * t[i] + b; });
    copy(t, y[tile(blk, kBlock)]);
  });
  return kb.build();
}

int run(const ir::Kernel& kernel, Target target) {
  const std::int64_t n = 10007; // a ragged tail
  const float a = 1.5f, b = -0.25f;
  std::vector<float> x(n), y(n, -1.0f);
  for (std::int64_t i = 0; i < n; ++i) {
    x[i] = static_cast<float>((i * 37) % 101) / 7.0f - 6.0f;
  }
  const CompiledKernel k = Runtime::compile(kernel, target);
  if (target == Target::cpu) {
    k.launch(nullptr, TensorView(x.data(), DType::f32, {n}, MemoryKind::host),
             TensorView(y.data(), DType::f32, {n}, MemoryKind::host), a, b);
  } else {
    DeviceBuffer dx = DeviceBuffer::from_host(x), dy(n * sizeof(float));
    k.launch(nullptr, dx.view(DType::f32, {n}), dy.view(DType::f32, {n}), a, b);
    y = dy.to_host<float>(n);
  }
  std::int64_t bad = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    // One fused or separate multiply-add in f32: allow one rounding of either.
    const float want = a * x[i] + b;
    if (!(std::abs(y[i] - want) <= 1e-6f * (1.0f + std::abs(want)))) {
      if (bad++ < 5) {
        std::printf("  y[%lld] = %g, expected %g\n", static_cast<long long>(i), y[i], want);
      }
    }
  }
  std::printf("ran on %s: %s (%lld elements)\n", target_name(target), bad ? "NOT OK" : "OK",
              static_cast<long long>(n));
  return bad == 0 ? 0 : 1;
}

} // namespace

int main() {
  try {
    const ir::Kernel kernel = axpb();
    const CompiledKernel cuda = Runtime::compile_for(kernel, "sm_90a");
    std::printf("%s\n// sm_90a: %d registers\n", cuda.cuda_source().c_str(),
                cuda.resources().registers);
    if (!cuda_device_present() && !cpu_backend_built()) {
      std::printf("no GPU and no CPU backend: compiled, not run\n");
      return 0;
    }
    return run(kernel, resolve_target(Target::automatic));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
