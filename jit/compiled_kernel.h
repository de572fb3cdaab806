/** \file
 * tessera::Runtime — DSL kernel in, launchable kernel out. For the cuda target: lower
 * (codegen/lower.h), emit CUDA (codegen/cuda/cuda_emitter.h), compile with NVRTC through the
 * cached NVRTC compile (runtime/compile_cuda.h). For the cpu target: the LLVM ORC backend
 * (codegen/llvm/cpu_kernel.h).
 *
 * \code
 *   ir::Kernel k = build_rmsnorm(4096);
 *   tessera::CompiledKernel ck = tessera::Runtime::compile(k);          // GPU if present, else CPU
 *   ck.launch(stream, x_view, w_view, y_view);                          // TensorViews, scalars
 *   auto for_ci = tessera::Runtime::compile_for(k, "sm_90a");           // CUDA, no GPU needed
 *   std::cout << for_ci.cuda_source() << for_ci.resources().registers;
 *   auto on_host = tessera::Runtime::compile(k, tessera::Target::cpu);          // host views
 * \endcode
 *
 * A kernel compiled for the cpu target launches with host TensorViews (MemoryKind::host), runs
 * the whole grid on the host thread pool and returns when it is done (the stream is ignored).
 *
 * Environment: TESSERA_DUMP_PASSES=1 prints the IR after every pass; TESSERA_DUMP_DIR=dir
 * writes <kernel>.ir, <kernel>.passes.txt, <kernel>.cu and <kernel>.ptx there on each compile.
 */
#pragma once

#include "codegen/lower.h"
#include "ir/ir.h"
#include "jit/launch_plan.h"
#include "jit/target.h"
#include "runtime/program.h"

#include <array>
#include <cuda.h>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace tessera {

/** How to compile a DSL kernel. */
struct JitOptions {
  /** Where the kernel runs. automatic: cuda when `arch` names one ("sm_90a" ...), else
   * resolve_target(Target::automatic) — a GPU when present, otherwise the CPU backend. */
  Target target = Target::automatic;
  /** cuda target: "sm_90a", "sm_80", ... or "auto" (the arch of `device`, needs a GPU). */
  std::string arch = "auto";
  int device = 0;
  /** Approximate exp/log/sigmoid and NVRTC --use_fast_math (opt-in: changes numerics). */
  bool fast_math = false;
  /** -lineinfo for profilers. */
  bool lineinfo = false;
  codegen::LowerOptions lower;
};

/** Where compile time went, milliseconds. The trace (building the IR) is the caller's. */
struct CompileTimings {
  double passes_ms = 0;    ///< all lowering passes (cpu target: tile IR -> LLVM IR)
  double emit_ms = 0;      ///< CUDA source generation
  double nvrtc_ms = 0;     ///< NVRTC compile that produced the cubin (recorded in cache entries)
  double obtain_ms = 0;    ///< compile_cuda() wall time: the NVRTC compile, or a cache lookup
  double llvm_ms = 0;      ///< cpu target: LLVM optimisation and native code generation
  bool from_cache = false; ///< the program came from the memory or disk cache
};

/** Per-launch options (the cpu target ignores both: its launches are synchronous). */
struct KernelLaunchOptions {
  CUstream stream = nullptr;
  /** Programmatic dependent launch (the kernel should start with pdl_wait()). */
  bool pdl = false;
};

namespace internal {
struct CompiledKernelState;
}

/**
 * A compiled DSL kernel, for the cuda target (inspectable without a GPU, launchable with one) or
 * the cpu target (launchable on host memory). Cheap to copy.
 */
class CompiledKernel {
public:
  CompiledKernel() = default;

  const std::string& name() const;
  /** Target::cuda or Target::cpu (never automatic). */
  Target target() const;
  /** The CUDA source, PTX, resources and program exist for the cuda target only; for the cpu
   *  target they throw UserError (Runtime::emit gives the CUDA source of any kernel). */
  const std::string& cuda_source() const;
  const std::string& ptx() const;
  /** ptxas' resource report (registers, spills, local memory); no GPU needed. */
  const KernelResources& resources() const;
  const CompileTimings& timings() const;
  /** The IR after each lowering pass (what TESSERA_DUMP_PASSES prints); empty for cpu. */
  const std::vector<codegen::PassRecord>& ir_after_passes() const;
  /** Dynamic shared memory every launch requests, bytes (0 for cpu). */
  std::int64_t shared_bytes() const;
  const ir::Kernel& kernel_ir() const;
  const std::shared_ptr<const Program>& program() const;
  const LaunchPlan& launch_plan() const;

  /** Launches with TensorView and scalar arguments in parameter order: device views for the
   *  cuda target, host views for the cpu target. Throws UserError on bad arguments (see
   *  LaunchPlan::bind, cpu::CpuKernel::launch); a grid extent of 0 launches nothing. */
  template <class... Args>
  void launch(const KernelLaunchOptions& options, const Args&... args) const {
    const std::array<KernelArg, sizeof...(Args)> a{KernelArg::from(args)...};
    launch_args(options, std::span<const KernelArg>(a.data(), a.size()));
  }
  template <class... Args> void launch(CUstream stream, const Args&... args) const {
    launch(KernelLaunchOptions{stream, false}, args...);
  }
  void launch_args(const KernelLaunchOptions& options, std::span<const KernelArg> args) const;

  explicit operator bool() const { return state_ != nullptr; }

private:
  friend class Runtime;
  std::shared_ptr<internal::CompiledKernelState> state_;
};

/** The DSL JIT entry points. */
class Runtime {
public:
  /** Compiles `kernel` for options.target, once per process for an equal kernel and equal
   *  options (jit/kernel_cache.h; the NVRTC result is also cached on disk). Throws UserError
   *  (also when no target is available, see resolve_target) / CompileError. */
  static CompiledKernel compile(const ir::Kernel& kernel, const JitOptions& options = {});
  /** compile() with default options for `target` (Target::cpu, Target::automatic ...). */
  static CompiledKernel compile(const ir::Kernel& kernel, Target target);
  /** compile() for the cuda target and an explicit arch; works without a GPU. */
  static CompiledKernel compile_for(const ir::Kernel& kernel, const std::string& arch);
  /** The CUDA source compile() would build, without NVRTC. */
  static std::string emit(const ir::Kernel& kernel, const codegen::LowerOptions& options = {});

private:
  /** compile() without the in-process memo. */
  static CompiledKernel compile_uncached(const ir::Kernel& kernel, const JitOptions& options);
};

} // namespace tessera
