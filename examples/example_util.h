/** \file
 * Small helpers the example programs share: choosing the target (a GPU when present, else the
 * LLVM CPU backend), random inputs, comparisons, and the no-target path (print the CUDA, compile
 * it for sm_90a, report resources). Buffers in the target's memory are runtime/tensor_storage.h
 * (`TensorStorage(memory_kind(target), bytes)`).
 */
#pragma once

#include "base/error.h"
#include "base/float16.h"
#include "jit/compiled_kernel.h"
#include "jit/target.h"
#include "runtime/tensor_storage.h"

#include <cmath>
#include <cstdio>
#include <optional>
#include <random>
#include <vector>

namespace tessera::examples {

/** Where the examples run: cuda with a GPU, else cpu when the backend is built, else none. */
inline std::optional<Target> run_target() {
  if (cuda_device_present()) {
    return Target::cuda;
  }
  if (cpu_backend_built()) {
    std::printf("no GPU present: running on the LLVM CPU backend\n");
    return Target::cpu;
  }
  return std::nullopt;
}

/** Shows what would run and proves it compiles for sm_90a; `why` says why it does not run.
 * Returns the exit status (0). */
inline int compile_only(const ir::Kernel& kernel, const char* why) {
  const CompiledKernel k = Runtime::compile_for(kernel, "sm_90a");
  std::printf("%s\n", k.cuda_source().c_str());
  const KernelResources& r = k.resources();
  std::printf("// compiled for sm_90a: %d registers, %d bytes local memory, %lld bytes shared\n",
              r.registers, r.local_bytes, static_cast<long long>(k.shared_bytes()));
  std::printf("%s: the kernel was compiled but not run\n", why);
  return 0;
}

/** Without any target (no GPU, no CPU backend): compile_only(). */
inline int no_target(const ir::Kernel& kernel) {
  return compile_only(kernel, "no GPU present and built without the CPU backend");
}

/** True when a CUDA driver and at least one device are present. */
inline bool gpu_available() {
  return cuda_device_present();
}

/** Without a GPU: show what would run and prove it compiles. Returns the exit status (0). */
inline int no_gpu(const ir::Kernel& kernel) {
  return compile_only(kernel, "no GPU present");
}

inline std::vector<float> random_floats(std::size_t n, std::uint32_t seed, float lo = -2.0f,
                                        float hi = 2.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) {
    x = d(gen);
  }
  return v;
}

inline std::vector<bf16> to_bf16(const std::vector<float>& v) {
  std::vector<bf16> out;
  out.reserve(v.size());
  for (float x : v) {
    out.emplace_back(x);
  }
  return out;
}

inline float bf16_round(float x) {
  return static_cast<float>(bf16(x));
}

/** Counts elements where |got - want| > atol + rtol * |want|, printing the first few. */
template <class Got>
inline std::size_t count_mismatches(const char* what, const std::vector<Got>& got,
                                    const std::vector<double>& want, double atol, double rtol) {
  std::size_t bad = 0;
  double max_err = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const double g = static_cast<double>(static_cast<float>(got[i]));
    const double err = std::fabs(g - want[i]);
    max_err = std::max(max_err, err);
    if (!(err <= atol + rtol * std::fabs(want[i]))) {
      if (bad < 5) {
        std::printf("  %s[%zu] = %.7g, expected %.7g\n", what, i, g, want[i]);
      }
      ++bad;
    }
  }
  std::printf("%s: %s (max abs error %.3g over %zu elements)\n", what, bad ? "NOT OK" : "OK",
              max_err, want.size());
  return bad;
}

} // namespace tessera::examples
