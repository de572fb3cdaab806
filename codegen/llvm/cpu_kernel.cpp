#include "codegen/llvm/cpu_kernel.h"

#include "base/error.h"
#include "codegen/llvm/translate.h"
#include "runtime/cpu/cluster.h"
#include "runtime/cpu/llvm_compat.h"
#include "runtime/cpu/orc_jit_llvm.h"
#include "runtime/cpu/thread_pool.h"

#include <chrono>
#include <fmt/format.h>
#include <llvm/IR/Module.h>

namespace tessera::cpu {

struct CpuKernel::Impl {
  std::string name;
  OrcModule module;
  BlockFn block = nullptr;
  std::size_t scratch_bytes = 0;
  Grid cluster; ///< all ones without a cluster
  CpuCompileTimings timings;
};

CpuKernel compile_cpu_kernel(const ir::Kernel& lowered, const OrcOptions& options) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto context = tessera::internal::make_llvm_context();
  codegen::CpuEntryPoints entry;
  std::unique_ptr<llvm::Module> m = codegen::translate_to_llvm(lowered, *context, entry);
  const double translate_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  OrcModule module =
      internal::compile_module(std::move(context), std::move(m), {entry.block_fn}, options);
  auto impl = std::make_shared<CpuKernel::Impl>();
  impl->name = lowered.name;
  impl->module = module;
  impl->block = module.lookup_function<std::remove_pointer_t<BlockFn>>(entry.block_fn);
  impl->scratch_bytes = entry.scratch_bytes;
  std::int64_t* dims[] = {&impl->cluster.x, &impl->cluster.y, &impl->cluster.z};
  for (std::size_t i = 0; i < lowered.cluster.size() && i < 3; ++i) {
    *dims[i] = lowered.cluster[i];
  }
  impl->timings.translate_ms = translate_ms;
  impl->timings.jit = module.timings();
  return CpuKernel(std::move(impl));
}

void CpuKernel::run(void* const* args, std::array<unsigned, 3> grid) const {
  if (!impl_) {
    throw UserError("CpuKernel::run on an empty kernel");
  }
  const Grid g{grid[0], grid[1], grid[2]};
  if (impl_->cluster.count() > 1) {
    run_grid_clusters(impl_->block, const_cast<void**>(args), g, impl_->cluster,
                      impl_->scratch_bytes);
  } else {
    run_grid(impl_->block, const_cast<void**>(args), g, impl_->scratch_bytes);
  }
}

const std::string& CpuKernel::name() const {
  static const std::string kNone;
  return impl_ ? impl_->name : kNone;
}
const CpuCompileTimings& CpuKernel::timings() const {
  static const CpuCompileTimings kNone;
  return impl_ ? impl_->timings : kNone;
}
const std::string& CpuKernel::llvm_ir() const {
  static const std::string kNone;
  return impl_ ? impl_->module.optimized_ir() : kNone;
}
std::size_t CpuKernel::scratch_bytes() const {
  return impl_ ? impl_->scratch_bytes : 0;
}

} // namespace tessera::cpu
