// gemm: C[M, N] = A[M, K] · B[K, N] in bf16 with fp32 accumulation on tensor cores
// (examples/gemm_kernel.h: 128×128×32 block tiles, a 3-stage cp.async pipelined K loop, an
// epilogue over the mma accumulator's registers). Runs shapes with tails in M, N and K on the
// GPU (else the LLVM CPU backend) and checks every element against an fp64 reference; without a
// GPU it also prints the CUDA and compiles it for sm_90a and sm_80.
#include "examples/example_util.h"
#include "examples/gemm_kernel.h"

#include <cstdint>

using namespace tessera;

namespace {

struct Shape {
  std::int64_t m, n, k;
  bool fixed_nk; ///< compile N and K into the kernel (16-byte cp.async loads)
};

std::size_t run(Target target, const Shape& s) {
  examples::GemmConfig cfg;
  if (s.fixed_nk) {
    cfg.n = s.n;
    cfg.k = s.k;
  }
  JitOptions o;
  o.target = target;
  const CompiledKernel k = Runtime::compile(examples::gemm_kernel(cfg), o);
  const auto a = examples::to_bf16(examples::random_floats(s.m * s.k, 11));
  const auto b = examples::to_bf16(examples::random_floats(s.k * s.n, 12));
  TensorStorage da = TensorStorage::from_host(memory_kind(target), a);
  TensorStorage db = TensorStorage::from_host(memory_kind(target), b);
  TensorStorage dc(memory_kind(target), s.m * s.n * sizeof(float));
  dc.poison(); // NaN: an element the kernel misses fails the check
  k.launch(nullptr, da.view(DType::bf16, {s.m, s.k}), db.view(DType::bf16, {s.k, s.n}),
           dc.view(DType::f32, {s.m, s.n}));
  const auto c = dc.to_host<float>(s.m * s.n);
  // fp64 reference of the bf16 inputs; the fp32 accumulation error is bounded relative to
  // sum |a||b| (k terms, each rounding at most 2^-24; 4k·2^-24 leaves room for the mma's
  // internal ordering).
  std::vector<double> want(s.m * s.n), mag(s.m * s.n);
  for (std::int64_t i = 0; i < s.m; ++i) {
    for (std::int64_t j = 0; j < s.n; ++j) {
      double acc = 0, abs = 0;
      for (std::int64_t q = 0; q < s.k; ++q) {
        const double p = static_cast<double>(static_cast<float>(a[i * s.k + q])) *
                         static_cast<double>(static_cast<float>(b[q * s.n + j]));
        acc += p;
        abs += std::fabs(p);
      }
      want[i * s.n + j] = acc;
      mag[i * s.n + j] = abs;
    }
  }
  std::size_t bad = 0;
  double max_err = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const double err = std::fabs(static_cast<double>(c[i]) - want[i]);
    max_err = std::max(max_err, err);
    if (!(err <= 4.0 * static_cast<double>(s.k) * 0x1p-24 * mag[i] + 1e-30)) {
      if (bad < 5) {
        std::printf("  C[%zu] = %.7g, expected %.7g\n", i, static_cast<double>(c[i]), want[i]);
      }
      ++bad;
    }
  }
  std::printf("gemm %lldx%lldx%lld%s: %s (max abs error %.3g)\n", static_cast<long long>(s.m),
              static_cast<long long>(s.n), static_cast<long long>(s.k),
              s.fixed_nk ? " (N, K compiled in)" : "", bad ? "NOT OK" : "OK", max_err);
  return bad;
}

/** Prints the CUDA of the pipelined example and compiles it for sm_90a and sm_80. */
int compile_for_both() {
  examples::GemmConfig cfg;
  cfg.n = cfg.k = 4096;
  const ir::Kernel kernel = examples::gemm_kernel(cfg);
  const CompiledKernel k90 = Runtime::compile_for(kernel, "sm_90a");
  std::printf("%s\n", k90.cuda_source().c_str());
  for (const char* arch : {"sm_90a", "sm_80"}) {
    const CompiledKernel ck = Runtime::compile_for(kernel, arch);
    const KernelResources& r = ck.resources();
    std::printf("// compiled for %s: %d registers, %d bytes local memory, %lld bytes shared\n",
                arch, r.registers, r.local_bytes, static_cast<long long>(ck.shared_bytes()));
  }
  return 0;
}

} // namespace

int main() {
  const std::vector<Shape> shapes = {
      {256, 256, 256, true},  // whole tiles, cp.async loads
      {512, 384, 1024, true}, // several K tiles: the pipeline's steady state
      {257, 200, 100, false}, // tails in M, N and K (K is not a multiple of the 32-deep tile)
      {1, 7, 33, false},      // smaller than one tile everywhere
      {300, 136, 96, true},   // tail in M with compiled-in N, K
  };
  if (!examples::gpu_available()) {
    compile_for_both();
  }
  const std::optional<Target> target = examples::run_target();
  if (!target) {
    std::printf("no GPU present and built without the CPU backend: compiled but not run\n");
    return 0;
  }
  std::size_t bad = 0;
  for (const Shape& s : shapes) {
    bad += run(*target, s);
  }
  return bad == 0 ? 0 : 1;
}
