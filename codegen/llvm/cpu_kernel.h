/** \file
 * CpuKernel: a lowered kernel compiled for the host CPU (LLVM ORC JIT), so kernels run and are
 * checked on machines without a GPU (docs/cpu-backend.md). Users reach it through
 * tessera::Runtime::compile(kernel, Target::cpu) (jit/compiled_kernel.h), which lowers the
 * kernel for the cpu target, binds launch arguments with the same LaunchPlan as a CUDA launch and
 * calls run() with the bound argument array and grid.
 */
#pragma once

#include "ir/ir.h"
#include "runtime/cpu/orc_jit.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>

namespace tessera::cpu {

/** How long compiling a kernel took, by stage (milliseconds). */
struct CpuCompileTimings {
  double translate_ms = 0; ///< thread-level IR → LLVM IR
  OrcTimings jit;          ///< LLVM IR → native code
};

/** A kernel compiled for the host. Cheap to copy; thread-safe to run concurrently. */
class CpuKernel {
public:
  CpuKernel() = default;

  /**
   * Runs the whole grid on ThreadPool::global(), one block per task, and returns when every
   * block is done. `args` is a bound launch's argument array (LaunchPlan::bind): per parameter a
   * pointer to its value, then the dynamic dims; the caller has checked them.
   */
  void run(void* const* args, std::array<unsigned, 3> grid) const;

  const std::string& name() const;
  /** Timings of the compile that produced this kernel. */
  const CpuCompileTimings& timings() const;
  /** The optimised LLVM IR (when compiled with OrcOptions::keep_ir). */
  const std::string& llvm_ir() const;
  /** Bytes of block-local scratch each host thread needs. */
  std::size_t scratch_bytes() const;
  explicit operator bool() const { return impl_ != nullptr; }

  struct Impl;
  explicit CpuKernel(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

private:
  std::shared_ptr<const Impl> impl_;
};

/**
 * Translates and JIT-compiles `lowered` (a kernel after codegen::lower for the cpu target, so
 * thread-level IR) for the host. Throws CompileError (naming the construct and its DSL line) for
 * IR the CPU backend cannot run.
 */
CpuKernel compile_cpu_kernel(const ir::Kernel& lowered, const OrcOptions& options = {});

} // namespace tessera::cpu
