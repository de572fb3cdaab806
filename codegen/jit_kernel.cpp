#include "codegen/jit_kernel.h"

#include "codegen/cuda/cuda_emitter.h"
#include "dsl/ir_printer.h"
#include "runtime/error.h"
#include "runtime/jit.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <mutex>

namespace tessera {

namespace internal {
struct CompiledKernelState {
  ir::Kernel kernel;
  std::string name;
  std::shared_ptr<const Program> program;
  CompileTimings timings;
  std::vector<codegen::PassRecord> passes;
  std::int64_t shared_bytes = 0;
  LaunchPlan plan;
  int device = 0;
  std::once_flag loaded;
  Kernel function; ///< loaded on first launch
};
} // namespace internal

namespace {

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

void dump(const std::string& dir, const internal::CompiledKernelState& s) {
  std::filesystem::create_directories(dir);
  const std::string base = (std::filesystem::path(dir) / s.name).string();
  std::ofstream(base + ".ir") << ir::to_string(s.kernel);
  std::ofstream passes(base + ".passes.txt");
  for (const codegen::PassRecord& r : s.passes) {
    passes << "// ---- IR after " << r.pass << "\n" << r.ir << "\n";
  }
  std::ofstream(base + ".cu") << s.program->cuda_source();
  std::ofstream(base + ".ptx") << s.program->ptx();
}

const internal::CompiledKernelState&
checked(const std::shared_ptr<internal::CompiledKernelState>& s) {
  if (!s) {
    throw UserError("CompiledKernel: empty handle (use Runtime::compile)");
  }
  return *s;
}

} // namespace

CompiledKernel Runtime::compile(const ir::Kernel& kernel, const JitOptions& options) {
  auto state = std::make_shared<internal::CompiledKernelState>();
  state->kernel = kernel;
  state->name = kernel.name;
  state->device = options.device;

  auto t0 = std::chrono::steady_clock::now();
  codegen::LoweredKernel lk = codegen::lower(kernel, options.lower, &state->passes);
  state->timings.passes_ms = since(t0);

  t0 = std::chrono::steady_clock::now();
  const std::string source = codegen::emit_cuda(lk);
  state->timings.emit_ms = since(t0);
  state->shared_bytes = lk.smem.total_bytes;
  state->plan = LaunchPlan(kernel, lk.smem.total_bytes);

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
    dump(dir, *state);
  }
  CompiledKernel ck;
  ck.state_ = std::move(state);
  return ck;
}

CompiledKernel Runtime::compile_for(const ir::Kernel& kernel, const std::string& arch) {
  JitOptions o;
  o.arch = arch;
  return compile(kernel, o);
}

std::string Runtime::emit(const ir::Kernel& kernel, const codegen::LowerOptions& options) {
  return codegen::emit_cuda(codegen::lower(kernel, options));
}

const std::string& CompiledKernel::name() const {
  return checked(state_).name;
}
const std::string& CompiledKernel::cuda_source() const {
  return checked(state_).program->cuda_source();
}
const std::string& CompiledKernel::ptx() const {
  return checked(state_).program->ptx();
}
const KernelResources& CompiledKernel::resources() const {
  return checked(state_).program->resources(state_->name);
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
  return checked(state_).program;
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
  BoundLaunch b;
  s.plan.bind(args, b);
  if (b.empty) {
    return;
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
