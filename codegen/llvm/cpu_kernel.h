/** \file
 * CpuKernel: a tile-IR kernel compiled for the host CPU (LLVM ORC JIT) and launched on host
 * tensors, so kernels run and are checked on machines without a GPU (docs/cpu-backend.md).
 *
 *     ir::Kernel k = my_kernel();                    // DSL program, verified by build()
 *     cpu::CpuKernel ck = cpu::compile_cpu_kernel(k); // lowered, JIT-compiled, cached
 *     ck.launch(x_view, y_view, 0.5f);               // dims bound from the shapes
 *
 * Arguments follow the kernel's parameters in declaration order: a TensorView (host memory,
 * contiguous, matching dtype and rank) per tensor, a value of exactly the parameter's dtype per
 * scalar. Dynamic dims are bound from tensor shapes; every mismatch is a UserError naming the
 * kernel and the parameter. The grid runs on ThreadPool::global(), one block per task.
 */
#pragma once

#include "base/float16.h"
#include "ir/ir.h"
#include "runtime/cpu/orc_jit.h"
#include "runtime/cpu/thread_pool.h"
#include "runtime/tensor.h"

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace tessera::cpu {

/** One launch argument: a tensor view or a scalar of a given dtype. */
struct CpuArg {
  const TensorView* tensor = nullptr; ///< set for tensors
  DType dtype = DType::f32;           ///< the scalar's type
  std::uint64_t bits = 0;             ///< the scalar's bytes (little-endian, zero-extended)

  CpuArg(const TensorView& t) : tensor(&t) {} // NOLINT(google-explicit-constructor)
  template <class T>
  requires(std::is_arithmetic_v<T> || std::is_same_v<T, bf16> || std::is_same_v<T, f16>)
      CpuArg(T value) { // NOLINT(google-explicit-constructor)
    static_assert(sizeof(T) <= sizeof(bits));
    if constexpr (std::is_same_v<T, float>) {
      dtype = DType::f32;
    } else if constexpr (std::is_same_v<T, double>) {
      dtype = DType::f64;
    } else if constexpr (std::is_same_v<T, bool>) {
      dtype = DType::boolean;
    } else if constexpr (std::is_same_v<T, bf16>) {
      dtype = DType::bf16;
    } else if constexpr (std::is_same_v<T, f16>) {
      dtype = DType::f16;
    } else if constexpr (std::is_integral_v<T> && sizeof(T) == 8) {
      dtype = DType::i64;
    } else if constexpr (std::is_integral_v<T> && sizeof(T) == 4) {
      dtype = std::is_signed_v<T> ? DType::i32 : DType::u32;
    } else if constexpr (std::is_integral_v<T> && sizeof(T) == 1) {
      dtype = std::is_signed_v<T> ? DType::i8 : DType::u8;
    } else {
      static_assert(sizeof(T) == 0, "unsupported scalar type for a CPU kernel argument");
    }
    std::memcpy(&bits, &value, sizeof(T));
  }
};

/** How long compiling a kernel took, by stage (milliseconds). */
struct CpuCompileTimings {
  double lower_ms = 0; ///< tile IR → LLVM IR
  OrcTimings jit;      ///< LLVM IR → native code
  bool cache_hit = false;
};

/** A kernel compiled for the host. Cheap to copy; thread-safe to launch concurrently. */
class CpuKernel {
public:
  CpuKernel() = default;

  /** Binds, checks and runs the whole grid; returns when every block is done. */
  template <class... Args> void launch(const Args&... args) const {
    const CpuArg list[] = {CpuArg(args)...};
    launch_args(std::span<const CpuArg>(list, sizeof...(Args)));
  }
  void launch() const { launch_args({}); }
  /** launch() with an argument list built at run time. */
  void launch_args(std::span<const CpuArg> args) const;

  const std::string& name() const;
  /** Timings of the compile that produced this kernel. */
  const CpuCompileTimings& timings() const;
  /** The optimised LLVM IR (when compiled with OrcOptions::keep_ir). */
  const std::string& llvm_ir() const;
  /** Bytes of block-local scratch each host thread needs. */
  std::size_t scratch_bytes() const;

  struct Impl;
  explicit CpuKernel(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

private:
  std::shared_ptr<const Impl> impl_;
};

/**
 * Lowers and JIT-compiles `kernel` (the verified block-level IR that KernelBuilder::build()
 * returns) for the host. Compiled code is cached in memory by the kernel's printed IR and the
 * options. Throws CompileError (naming the construct and its DSL line) for IR the CPU backend
 * cannot run yet.
 */
CpuKernel compile_cpu_kernel(const ir::Kernel& kernel, const OrcOptions& options = {});

} // namespace tessera::cpu
