#include "runtime/cpu/orc_jit.h"

#include "base/error.h"
#include "runtime/cpu/cluster.h"
#include "runtime/cpu/llvm_compat.h"
#include "runtime/cpu/orc_jit_llvm.h"
#include "runtime/cpu/warp_ops.h"

#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/IRReader/IRReader.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/SourceMgr.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#if LLVM_VERSION_MAJOR >= 16
#include <llvm/TargetParser/Host.h>
#else
#include <llvm/Support/Host.h>
#endif

#include <chrono>
#include <mutex>
#include <unordered_map>

namespace tessera::cpu {

struct OrcModule::Impl {
  std::unique_ptr<llvm::orc::LLJIT> jit;
  std::unordered_map<std::string, void*> entry_points; // resolved at compile time, read-only
  OrcTimings timings;
  std::string optimized_ir;
  std::string name;
};

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string llvm_error_text(llvm::Error err) {
  return llvm::toString(std::move(err));
}

template <class T> T unwrap(llvm::Expected<T> value, std::string_view what) {
  if (!value) {
    throw CompileError(std::string("CPU JIT: ") + std::string(what) + " failed",
                       llvm_error_text(value.takeError()));
  }
  return std::move(*value);
}

llvm::orc::JITTargetMachineBuilder target_machine_builder(const OrcOptions& options) {
  llvm::orc::JITTargetMachineBuilder jtmb =
      options.host_features
          ? unwrap(llvm::orc::JITTargetMachineBuilder::detectHost(), "detecting the host CPU")
          : llvm::orc::JITTargetMachineBuilder(llvm::Triple(llvm::sys::getProcessTriple()));
  switch (options.opt) {
  case OptLevel::O0:
    jtmb.setCodeGenOptLevel(tessera::internal::kCodeGenNone);
    break;
  case OptLevel::O1:
  case OptLevel::O2:
    jtmb.setCodeGenOptLevel(tessera::internal::kCodeGenDefault);
    break;
  case OptLevel::O3:
    jtmb.setCodeGenOptLevel(tessera::internal::kCodeGenAggressive);
    break;
  }
  return jtmb;
}

llvm::OptimizationLevel pass_level(OptLevel level) {
  switch (level) {
  case OptLevel::O0:
    return llvm::OptimizationLevel::O0;
  case OptLevel::O1:
    return llvm::OptimizationLevel::O1;
  case OptLevel::O2:
    return llvm::OptimizationLevel::O2;
  case OptLevel::O3:
    break;
  }
  return llvm::OptimizationLevel::O3;
}

// The new pass manager's default pipeline, with the target machine so that the cost model
// (vector widths, instruction costs) is the host's.
void optimize(llvm::Module& module, llvm::TargetMachine& tm, OptLevel level, bool unroll) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions tuning;
  tuning.LoopVectorization = level >= OptLevel::O2;
  tuning.SLPVectorization = level >= OptLevel::O2;
  // LLVM's loop unroller multiplies code size (tile loops have constant trip counts of hundreds)
  // and with it JIT time, about 6x for mhc_post, for a run-time gain within noise.
  tuning.LoopUnrolling = unroll;
  llvm::PassBuilder pb(&tm, tuning);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm = level == OptLevel::O0
                                    ? pb.buildO0DefaultPipeline(llvm::OptimizationLevel::O0)
                                    : pb.buildPerModuleDefaultPipeline(pass_level(level));
  mpm.run(module, mam);
}

std::string module_text(const llvm::Module& module) {
  std::string text;
  llvm::raw_string_ostream os(text);
  module.print(os, nullptr);
  os.flush();
  return text;
}

OrcModule compile_impl(std::unique_ptr<llvm::LLVMContext> context,
                       std::unique_ptr<llvm::Module> module,
                       const std::vector<std::string>& entry_points, const OrcOptions& options,
                       double parse_ms) {
  const auto start = Clock::now();
  auto impl = std::make_shared<OrcModule::Impl>();
  impl->name = module->getName().str();
  impl->timings.parse_ms = parse_ms;

  {
    std::string report;
    llvm::raw_string_ostream os(report);
    if (llvm::verifyModule(*module, &os)) {
      os.flush();
      throw CompileError("internal error: CPU backend produced invalid LLVM IR for '" + impl->name +
                             "'",
                         report + "\n" + module_text(*module));
    }
  }

  llvm::orc::JITTargetMachineBuilder jtmb = target_machine_builder(options);
  std::unique_ptr<llvm::TargetMachine> tm =
      unwrap(jtmb.createTargetMachine(), "creating the target machine");
  module->setDataLayout(tm->createDataLayout());
  module->setTargetTriple(tm->getTargetTriple().str());

  const auto opt_start = Clock::now();
  optimize(*module, *tm, options.opt, options.unroll_loops);
  impl->timings.optimize_ms = ms_since(opt_start);
  if (options.keep_ir) {
    impl->optimized_ir = module_text(*module);
  }

  const auto cg_start = Clock::now();
  impl->jit = unwrap(llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(std::move(jtmb)).create(),
                     "creating LLJIT");
  // JIT code may call the C library and libm (expf, logf, memcpy, ...) of this process.
  const char prefix = impl->jit->getDataLayout().getGlobalPrefix();
  impl->jit->getMainJITDylib().addGenerator(
      unwrap(llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(prefix),
             "opening the process for symbol lookup"));
  // Tessera's own runtime helpers are linked statically, so they are not in the process's
  // dynamic symbol table: bind them by address.
  llvm::orc::SymbolMap helpers;
  helpers[impl->jit->mangleAndIntern(kWarpOpSymbol)] =
      tessera::internal::absolute_symbol(reinterpret_cast<void*>(&tessera_cpu_warp_op));
  helpers[impl->jit->mangleAndIntern(kClusterBarrierSymbol)] =
      tessera::internal::absolute_symbol(reinterpret_cast<void*>(&tessera_cpu_cluster_barrier));
  if (llvm::Error err =
          impl->jit->getMainJITDylib().define(llvm::orc::absoluteSymbols(std::move(helpers)))) {
    throw CompileError("CPU JIT: defining runtime helpers failed", llvm_error_text(std::move(err)));
  }
  if (llvm::Error err = impl->jit->addIRModule(
          llvm::orc::ThreadSafeModule(std::move(module), std::move(context)))) {
    throw CompileError("CPU JIT: adding module '" + impl->name + "' failed",
                       llvm_error_text(std::move(err)));
  }
  for (const std::string& name : entry_points) {
    auto sym = impl->jit->lookup(name);
    if (!sym) {
      throw CompileError("CPU JIT: cannot materialise '" + name + "' of '" + impl->name + "'",
                         llvm_error_text(sym.takeError()));
    }
    impl->entry_points.emplace(name,
                               reinterpret_cast<void*>(tessera::internal::symbol_address(*sym)));
  }
  impl->timings.codegen_ms = ms_since(cg_start);
  impl->timings.total_ms = parse_ms + ms_since(start);
  return OrcModule(std::move(impl));
}

} // namespace

std::string OrcOptions::describe() const {
  static constexpr const char* kLevels[] = {"O0", "O1", "O2", "O3"};
  std::string text = kLevels[static_cast<int>(opt)];
  text += host_features ? " host" : " generic";
  text += unroll_loops ? " unroll" : "";
  return text;
}

const HostCpu& host_cpu() {
  static const HostCpu host = [] {
    HostCpu h;
    h.triple = llvm::sys::getProcessTriple();
    h.name = llvm::sys::getHostCPUName().str();
    llvm::StringMap<bool> features;
    if (llvm::sys::getHostCPUFeatures(features)) {
      std::vector<std::string> names;
      for (const auto& f : features) {
        if (f.second) {
          names.push_back(f.first().str());
        }
      }
      std::sort(names.begin(), names.end());
      for (const std::string& n : names) {
        h.features += (h.features.empty() ? "+" : ",+") + n;
      }
    }
    return h;
  }();
  return host;
}

void* OrcModule::lookup(std::string_view symbol) const {
  if (!impl_) {
    throw UserError("OrcModule::lookup('" + std::string(symbol) + "') on an empty module");
  }
  if (auto it = impl_->entry_points.find(std::string(symbol)); it != impl_->entry_points.end()) {
    return it->second;
  }
  auto sym = impl_->jit->lookup(llvm::StringRef(symbol.data(), symbol.size()));
  if (!sym) {
    throw CompileError("CPU JIT: symbol '" + std::string(symbol) + "' not found in '" +
                           impl_->name + "'",
                       llvm_error_text(sym.takeError()));
  }
  return reinterpret_cast<void*>(tessera::internal::symbol_address(*sym));
}

const OrcTimings& OrcModule::timings() const {
  static const OrcTimings kNone;
  return impl_ ? impl_->timings : kNone;
}

const std::string& OrcModule::optimized_ir() const {
  static const std::string kNone;
  return impl_ ? impl_->optimized_ir : kNone;
}

OrcModule jit_compile_ir_text(std::string_view ir_text, std::string_view module_name,
                              const std::vector<std::string>& entry_points,
                              const OrcOptions& options) {
  internal::initialize_llvm_native_target();
  const auto start = Clock::now();
  auto context = tessera::internal::make_llvm_context();
  llvm::SMDiagnostic diag;
  auto buffer =
      llvm::MemoryBuffer::getMemBuffer(llvm::StringRef(ir_text.data(), ir_text.size()),
                                       llvm::StringRef(module_name.data(), module_name.size()),
                                       /*RequiresNullTerminator=*/false);
  std::unique_ptr<llvm::Module> module = llvm::parseIR(buffer->getMemBufferRef(), diag, *context);
  if (!module) {
    std::string log;
    llvm::raw_string_ostream os(log);
    diag.print(std::string(module_name).c_str(), os);
    os.flush();
    throw CompileError("CPU JIT: cannot parse LLVM IR of '" + std::string(module_name) + "'", log);
  }
  return compile_impl(std::move(context), std::move(module), entry_points, options,
                      ms_since(start));
}

namespace internal {

void initialize_llvm_native_target() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
  });
}

OrcModule compile_module(std::unique_ptr<llvm::LLVMContext> context,
                         std::unique_ptr<llvm::Module> module,
                         const std::vector<std::string>& entry_points, const OrcOptions& options) {
  initialize_llvm_native_target();
  return compile_impl(std::move(context), std::move(module), entry_points, options, 0.0);
}

} // namespace internal
} // namespace tessera::cpu
