#include "codegen/llvm/cpu_kernel.h"

#include "base/error.h"
#include "codegen/llvm/lower_to_llvm.h"
#include "ir/printer.h"
#include "runtime/cpu/jit_cache.h"
#include "runtime/cpu/llvm_compat.h"
#include "runtime/cpu/orc_jit_llvm.h"

#include <array>
#include <chrono>
#include <fmt/format.h>
#include <limits>
#include <llvm/IR/Module.h>
#include <map>
#include <mutex>

namespace tessera::cpu {

struct CpuKernel::Impl {
  ir::Kernel kernel;
  OrcModule module;
  BlockFn block = nullptr;
  void (*grid)(void**, std::int64_t*) = nullptr;
  std::size_t scratch_bytes = 0;
  CpuCompileTimings timings;
};

namespace {

// What the launcher needs besides the code, per cache key.
struct Compiled {
  codegen::CpuEntryPoints entry;
  double lower_ms = 0;
};

std::string param_names(const ir::Kernel& k) {
  std::string s;
  for (const ir::Param& p : k.params) {
    s += (s.empty() ? "" : ", ") + p.name;
  }
  return s;
}

} // namespace

CpuKernel compile_cpu_kernel(const ir::Kernel& kernel, const OrcOptions& options) {
  using Clock = std::chrono::steady_clock;
  const std::string key = JitCache::make_key(ir::to_string(kernel), options);
  // The JIT cache holds the code; the entry points and lowering time of each key live here.
  static std::mutex facts_mutex;
  static std::map<std::string, Compiled> facts;
  bool compiled_now = false;
  OrcModule module = JitCache::global().get_or_compile(key, [&] {
    compiled_now = true;
    Compiled c;
    const auto start = Clock::now();
    auto context = tessera::internal::make_llvm_context();
    std::unique_ptr<llvm::Module> m = codegen::lower_to_llvm(kernel, *context, c.entry);
    c.lower_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    OrcModule jm = internal::compile_module(std::move(context), std::move(m),
                                            {c.entry.block_fn, c.entry.grid_fn}, options);
    std::lock_guard lock(facts_mutex);
    facts[key] = c;
    return jm;
  });
  Compiled entry;
  {
    std::lock_guard lock(facts_mutex);
    entry = facts.at(key);
  }
  auto impl = std::make_shared<CpuKernel::Impl>();
  impl->kernel = kernel;
  impl->module = module;
  impl->block = module.lookup_function<std::remove_pointer_t<BlockFn>>(entry.entry.block_fn);
  impl->grid = module.lookup_function<void(void**, std::int64_t*)>(entry.entry.grid_fn);
  impl->scratch_bytes = entry.entry.scratch_bytes;
  impl->timings.lower_ms = entry.lower_ms;
  impl->timings.jit = module.timings();
  impl->timings.cache_hit = !compiled_now;
  return CpuKernel(std::move(impl));
}

void CpuKernel::launch_args(std::span<const CpuArg> args) const {
  if (!impl_) {
    throw UserError("CpuKernel::launch on an empty kernel");
  }
  const ir::Kernel& k = impl_->kernel;
  if (args.size() != k.params.size()) {
    throw UserError(fmt::format("kernel '{}' takes {} arguments ({}), got {}", k.name,
                                k.params.size(), param_names(k), args.size()));
  }
  const std::size_t nslots = k.params.size() + k.dims.size();
  std::vector<void*> slots(nslots, nullptr);
  std::vector<std::int64_t> dim_values(k.dims.size(), -1);
  std::vector<std::int32_t> dim_i32(k.dims.size(), 0);
  std::vector<std::string> dim_source(k.dims.size());
  auto dim_index = [&](const ir::Expr& e) -> int {
    const auto* v = e.as<ir::Var>();
    if (v == nullptr || v->var_kind != ir::VarKind::dim) {
      return -1;
    }
    for (std::size_t d = 0; d < k.dims.size(); ++d) {
      if (k.dims[d].var.same_as(e) || k.dims[d].name == v->name) {
        return static_cast<int>(d);
      }
    }
    return -1;
  };

  for (std::size_t i = 0; i < args.size(); ++i) {
    const ir::Param& p = k.params[i];
    const CpuArg& a = args[i];
    const std::string where = fmt::format("kernel '{}' argument {} ('{}')", k.name, i, p.name);
    if (p.kind == ir::Param::Kind::scalar) {
      if (a.tensor != nullptr) {
        throw UserError(
            fmt::format("{}: expected a {} scalar, got a tensor", where, dtype_name(p.dtype)));
      }
      if (a.dtype != p.dtype) {
        throw UserError(fmt::format("{}: expected a {} scalar, got {}", where, dtype_name(p.dtype),
                                    dtype_name(a.dtype)));
      }
      slots[i] = const_cast<std::uint64_t*>(&a.bits);
      continue;
    }
    if (a.tensor == nullptr) {
      throw UserError(fmt::format("{}: expected a {} tensor, got a {} scalar", where,
                                  dtype_name(p.dtype), dtype_name(a.dtype)));
    }
    const TensorView& t = *a.tensor;
    const ir::Buffer& buf = p.buffer;
    if (t.memory() != MemoryKind::host) {
      throw UserError(
          fmt::format("{}: the CPU backend needs host memory, got {}", where, t.describe()));
    }
    if (t.dtype() != buf->dtype) {
      throw UserError(fmt::format("{}: expected dtype {}, got {}", where, dtype_name(buf->dtype),
                                  t.describe()));
    }
    if (t.rank() != static_cast<int>(buf->shape.size())) {
      throw UserError(
          fmt::format("{}: expected rank {}, got {}", where, buf->shape.size(), t.describe()));
    }
    if (!t.is_contiguous()) {
      throw UserError(
          fmt::format("{}: tensors must be contiguous (row-major), got {}", where, t.describe()));
    }
    for (int d = 0; d < t.rank(); ++d) {
      const ir::Expr& e = buf->shape[static_cast<std::size_t>(d)];
      if (const auto* imm = e.as<ir::IntImm>()) {
        if (t.size(d) != imm->value) {
          throw UserError(fmt::format("{}: dimension {} must be {}, got {}", where, d, imm->value,
                                      t.describe()));
        }
        continue;
      }
      const int di = dim_index(e);
      if (di < 0) {
        throw InternalError(
            fmt::format("{}: dimension {} is neither constant nor a dim", where, d));
      }
      if (dim_values[di] < 0) {
        dim_values[di] = t.size(d);
        dim_source[di] = p.name;
      } else if (dim_values[di] != t.size(d)) {
        throw UserError(fmt::format("{}: dimension {} ('{}') is {}, but '{}' has {} = {}", where, d,
                                    k.dims[di].name, t.size(d), dim_source[di], k.dims[di].name,
                                    dim_values[di]));
      }
    }
    if (t.data() == nullptr && t.numel() > 0) {
      throw UserError(fmt::format("{}: null data pointer", where));
    }
    slots[i] = t.data();
  }
  for (std::size_t d = 0; d < k.dims.size(); ++d) {
    if (dim_values[d] < 0) {
      throw UserError(fmt::format("kernel '{}': dim '{}' is not the extent of any tensor argument",
                                  k.name, k.dims[d].name));
    }
    if (dim_values[d] > std::numeric_limits<std::int32_t>::max()) {
      throw UserError(fmt::format("kernel '{}': dim '{}' = {} does not fit in 32 bits", k.name,
                                  k.dims[d].name, dim_values[d]));
    }
    dim_i32[d] = static_cast<std::int32_t>(dim_values[d]);
    slots[k.params.size() + d] = &dim_i32[d];
  }
  std::array<std::int64_t, 3> g{1, 1, 1};
  impl_->grid(slots.data(), g.data());
  if (g[0] < 0 || g[1] < 0 || g[2] < 0) {
    throw UserError(fmt::format("kernel '{}': negative grid {}x{}x{}", k.name, g[0], g[1], g[2]));
  }
  run_grid(impl_->block, slots.data(), Grid{g[0], g[1], g[2]}, impl_->scratch_bytes);
}

const std::string& CpuKernel::name() const {
  static const std::string kNone;
  return impl_ ? impl_->kernel.name : kNone;
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
