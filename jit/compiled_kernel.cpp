#include "jit/compiled_kernel.h"

#include "base/error.h"
#include "base/file_io.h"
#include "codegen/cuda/cuda_printer.h"
#include "codegen/target_info.h"
#include "ir/printer.h"
#include "jit/kernel_cache.h"
#include "runtime/compile_cuda.h"

#ifdef TESSERA_HAS_CPU_BACKEND
#include "codegen/llvm/cpu_kernel.h"
#endif

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <iostream>
#include <mutex>
#include <vector>

namespace tessera {

namespace internal {
struct CompiledKernelState {
  Target target = Target::cuda;
  ir::Kernel kernel;
  std::string name;
  std::shared_ptr<const Program> program;
  CompileTimings timings;
  std::vector<codegen::PassRecord> passes;
  std::int64_t shared_bytes = 0;
  LaunchPlan plan;
  int device = 0;
  std::once_flag loaded;
  DeviceFunction function; ///< loaded on first launch
#ifdef TESSERA_HAS_CPU_BACKEND
  cpu::CpuKernel cpu; ///< the cpu target's code
#endif
};
} // namespace internal

namespace {

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

void dump(const std::string& dir, const internal::CompiledKernelState& s) {
  std::filesystem::create_directories(dir);
  const std::string base = (std::filesystem::path(dir) / s.name).string();
  write_file_atomic(base + ".ir", ir::to_string(s.kernel));
  std::string passes;
  for (const codegen::PassRecord& r : s.passes) {
    passes += "// ---- IR after " + r.pass + "\n" + r.ir + "\n";
  }
  write_file_atomic(base + ".passes.txt", passes);
  write_file_atomic(base + ".cu", s.program->cuda_source());
  write_file_atomic(base + ".ptx", s.program->ptx());
}

const internal::CompiledKernelState&
checked(const std::shared_ptr<internal::CompiledKernelState>& s) {
  if (!s) {
    throw UserError("CompiledKernel: empty handle (use Runtime::compile)");
  }
  return *s;
}

// The state of a cuda-target kernel, for what only NVRTC produces.
const internal::CompiledKernelState&
checked_cuda(const std::shared_ptr<internal::CompiledKernelState>& s, const char* what) {
  const internal::CompiledKernelState& c = checked(s);
  if (c.target != Target::cuda) {
    throw UserError(fmt::format("CompiledKernel '{}': {} exists only for the cuda target, the "
                                "kernel was compiled for cpu (Runtime::emit gives its CUDA source)",
                                c.name, what));
  }
  return c;
}

// The target compile() uses: an explicit CUDA arch means cuda.
Target choose_target(const JitOptions& options) {
  if (options.target == Target::automatic && options.arch != "auto") {
    return Target::cuda;
  }
  const Target t = resolve_target(options.target);
  if (t == Target::cpu && options.arch != "auto") {
    throw UserError(fmt::format("JitOptions: arch '{}' is a CUDA arch, but the target is cpu "
                                "(leave arch as \"auto\")",
                                options.arch));
  }
  return t;
}

} // namespace

CompiledKernel Runtime::compile(const ir::Kernel& kernel, const JitOptions& options) {
  return KernelCache::global().get(kernel, options, choose_target(options), &compile_uncached);
}

CompiledKernel Runtime::compile_uncached(const ir::Kernel& kernel, const JitOptions& options) {
  auto state = std::make_shared<internal::CompiledKernelState>();
  state->target = choose_target(options);
  state->kernel = kernel;
  state->name = kernel.name;
  state->device = options.device;
  // The same passes for both targets; only what some ops lower to differs (ops::TargetInfo).
  codegen::LowerOptions lower = options.lower;
  if (lower.target == nullptr) {
    lower.target = state->target == Target::cpu ? &codegen::cpu_target() : &codegen::cuda_target();
  }
  auto t0 = std::chrono::steady_clock::now();
  const ir::Kernel lowered = codegen::lower(kernel, lower, &state->passes);
  state->timings.passes_ms = since(t0);
  state->shared_bytes = lowered.shared_bytes;
  state->plan = LaunchPlan(kernel, lowered.shared_bytes, memory_kind(state->target));

  if (state->target == Target::cpu) {
#ifdef TESSERA_HAS_CPU_BACKEND
    t0 = std::chrono::steady_clock::now();
    state->cpu = cpu::compile_cpu_kernel(lowered);
    state->timings.obtain_ms = since(t0);
    state->timings.emit_ms = state->cpu.timings().translate_ms;
    state->timings.llvm_ms = state->cpu.timings().jit.total_ms;
#else
    throw InternalError(
        fmt::format("kernel '{}': cpu target without the CPU backend", kernel.name));
#endif
    CompiledKernel ck;
    ck.state_ = std::move(state);
    return ck;
  }

  t0 = std::chrono::steady_clock::now();
  const std::string source = codegen::print_cuda(lowered);
  state->timings.emit_ms = since(t0);
  state->shared_bytes = lowered.shared_bytes;
  state->plan = LaunchPlan(kernel, lowered.shared_bytes);

  CompileOptions co;
  co.arch = options.arch;
  co.device = options.device;
  co.fast_math = options.fast_math;
  co.lineinfo = options.lineinfo;
  co.headers = codegen::prelude_headers();
  co.program_name = kernel.name + ".cu";
  if (options.fast_math) {
    co.defines.push_back("TESSERA_FAST_MATH");
  }
  t0 = std::chrono::steady_clock::now();
  state->program = compile_cuda(source, {kernel.name}, co);
  state->timings.obtain_ms = since(t0);
  state->timings.nvrtc_ms = state->program->compile_ms();
  state->timings.from_cache = state->program->origin() == ProgramOrigin::disk_cache ||
                              state->timings.obtain_ms < 0.5 * state->timings.nvrtc_ms;

  if (const char* dir = std::getenv("TESSERA_DUMP_DIR"); dir != nullptr && *dir != '\0') {
    try {
      dump(dir, *state);
    } catch (const std::exception& e) { // a diagnostic side output must not fail the compile
      std::cerr << "tessera: warning: TESSERA_DUMP_DIR: " << e.what() << "\n";
    }
  }
  CompiledKernel ck;
  ck.state_ = std::move(state);
  return ck;
}

CompiledKernel Runtime::compile(const ir::Kernel& kernel, Target target) {
  JitOptions o;
  o.target = target;
  return compile(kernel, o);
}

CompiledKernel Runtime::compile_for(const ir::Kernel& kernel, const std::string& arch) {
  JitOptions o;
  o.target = Target::cuda;
  o.arch = arch;
  return compile(kernel, o);
}

std::string Runtime::emit(const ir::Kernel& kernel, const codegen::LowerOptions& options) {
  return codegen::print_cuda(codegen::lower(kernel, options));
}

const std::string& CompiledKernel::name() const {
  return checked(state_).name;
}
Target CompiledKernel::target() const {
  return checked(state_).target;
}
const std::string& CompiledKernel::cuda_source() const {
  return checked_cuda(state_, "the CUDA source").program->cuda_source();
}
const std::string& CompiledKernel::ptx() const {
  return checked_cuda(state_, "PTX").program->ptx();
}
const KernelResources& CompiledKernel::resources() const {
  return checked_cuda(state_, "a resource report").program->resources(state_->name);
}
const CompileTimings& CompiledKernel::timings() const {
  return checked(state_).timings;
}
const std::vector<codegen::PassRecord>& CompiledKernel::ir_after_passes() const {
  return checked(state_).passes;
}
std::int64_t CompiledKernel::shared_bytes() const {
  return checked(state_).shared_bytes;
}
const ir::Kernel& CompiledKernel::kernel_ir() const {
  return checked(state_).kernel;
}
const std::shared_ptr<const Program>& CompiledKernel::program() const {
  return checked_cuda(state_, "an NVRTC program").program;
}
const LaunchPlan& CompiledKernel::launch_plan() const {
  return checked(state_).plan;
}

void CompiledKernel::launch_args(const KernelLaunchOptions& options,
                                 std::span<const KernelArg> args) const {
  if (!state_) {
    throw UserError("CompiledKernel: empty handle (use Runtime::compile)");
  }
  internal::CompiledKernelState& s = *state_;
  BoundLaunch b; // one binder for both targets
  s.plan.bind(args, b);
  if (b.empty) {
    return;
  }
  if (s.target == Target::cpu) {
#ifdef TESSERA_HAS_CPU_BACKEND
    s.cpu.run(b.args.data(), b.grid);
    return;
#else
    throw InternalError(fmt::format("kernel '{}': cpu target without the CPU backend", s.name));
#endif
  }
  std::call_once(s.loaded, [&] { s.function = s.program->kernel(s.name, s.device); });
  LaunchConfig config;
  config.grid = Dim3(b.grid[0], b.grid[1], b.grid[2]);
  config.block = Dim3(b.block);
  config.shared_bytes = b.shared_bytes;
  config.stream = options.stream;
  config.pdl = options.pdl;
  s.function.launch_unchecked(config, b.args.data());
}

} // namespace tessera
