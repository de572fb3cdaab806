#include "kernels/mhc/launch.h"

#include "codegen/cuda/cuda_emitter.h"
#include "codegen/lower.h"
#include "runtime/device.h"
#include "runtime/driver.h"
#include "runtime/error.h"
#include "runtime/jit.h"

#include <array>
#include <cstring>
#include <fmt/format.h>
#include <map>
#include <mutex>
#include <vector>

namespace tessera::mhc::internal {

namespace {

constexpr std::size_t kMaxArgs = 16;

/** Where a dynamic dim is read at launch: tensor argument `arg`, axis `axis`. */
struct DimBinding {
  int arg = -1;
  int axis = 0;
};

/** Evaluates an integer grid expression with the dims bound. */
std::int64_t eval(const ir::Expr& e, const std::vector<ir::DynamicDim>& dims,
                  const std::array<std::int64_t, 4>& values) {
  if (const auto* imm = e.as<ir::IntImm>()) {
    return imm->value;
  }
  if (const auto* v = e.as<ir::Var>()) {
    for (std::size_t i = 0; i < dims.size(); ++i) {
      if (dims[i].var.as<ir::Var>()->name == v->name) {
        return values[i];
      }
    }
    throw InternalError(fmt::format("mhc launch: grid uses unbound variable '{}'", v->name));
  }
  if (const auto* c = e.as<ir::Cast>()) {
    return eval(c->value, dims, values);
  }
  if (const auto* b = e.as<ir::Binary>()) {
    const std::int64_t x = eval(b->a, dims, values);
    const std::int64_t y = eval(b->b, dims, values);
    switch (b->op) {
    case ir::BinaryOp::Add:
      return x + y;
    case ir::BinaryOp::Sub:
      return x - y;
    case ir::BinaryOp::Mul:
      return x * y;
    case ir::BinaryOp::Div:
      return y ? x / y : 0;
    case ir::BinaryOp::Mod:
      return y ? x % y : 0;
    case ir::BinaryOp::Min:
      return std::min(x, y);
    case ir::BinaryOp::Max:
      return std::max(x, y);
    default:
      break;
    }
  }
  if (const auto* s = e.as<ir::Select>()) {
    // ceil_div may lower to a select on a comparison; evaluate the comparison.
    const auto* cmp = s->cond.as<ir::Binary>();
    if (cmp) {
      const std::int64_t x = eval(cmp->a, dims, values);
      const std::int64_t y = eval(cmp->b, dims, values);
      bool c = false;
      switch (cmp->op) {
      case ir::BinaryOp::LT:
        c = x < y;
        break;
      case ir::BinaryOp::LE:
        c = x <= y;
        break;
      case ir::BinaryOp::GT:
        c = x > y;
        break;
      case ir::BinaryOp::GE:
        c = x >= y;
        break;
      case ir::BinaryOp::EQ:
        c = x == y;
        break;
      case ir::BinaryOp::NE:
        c = x != y;
        break;
      default:
        throw InternalError("mhc launch: unsupported grid condition");
      }
      return eval(c ? s->true_value : s->false_value, dims, values);
    }
  }
  throw InternalError("mhc launch: unsupported grid expression");
}

} // namespace

class CompiledKernel {
public:
  ir::Kernel ir;
  Kernel kernel;
  unsigned shared_bytes = 0;
  std::vector<DimBinding> dims;
};

std::string cuda_source(const ir::Kernel& kernel) {
  return codegen::emit_cuda(codegen::lower(kernel));
}

std::shared_ptr<const CompiledKernel> get_kernel(const std::string& key, int device,
                                                 const std::function<ir::Kernel()>& build) {
  static std::mutex mutex;
  static std::map<std::pair<int, std::string>, std::shared_ptr<const CompiledKernel>> cache;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (auto it = cache.find({device, key}); it != cache.end()) {
      return it->second;
    }
  }
  // Compile outside the lock (the runtime cache dedups concurrent compiles of one source).
  auto ck = std::make_shared<CompiledKernel>();
  ck->ir = build();
  const codegen::LoweredKernel lowered = codegen::lower(ck->ir);
  const std::string source = codegen::emit_cuda(lowered);
  CompileOptions options;
  options.arch = device_info(device).arch;
  options.device = device;
  options.headers = codegen::prelude_headers();
  options.program_name = ck->ir.name + ".cu";
  auto program = compile_cuda(source, std::vector<std::string>{ck->ir.name}, options);
  ck->kernel = program->kernel(ck->ir.name, device);
  ck->shared_bytes = static_cast<unsigned>(lowered.smem.total_bytes);
  for (const ir::DynamicDim& d : ck->ir.dims) {
    DimBinding b;
    for (std::size_t p = 0; p < ck->ir.params.size() && b.arg < 0; ++p) {
      const ir::Param& param = ck->ir.params[p];
      if (param.kind != ir::Param::Kind::tensor) {
        continue;
      }
      for (std::size_t a = 0; a < param.buffer->shape.size(); ++a) {
        const auto* v = param.buffer->shape[a].as<ir::Var>();
        if (v && v->name == d.name) {
          b = {static_cast<int>(p), static_cast<int>(a)};
          break;
        }
      }
    }
    if (b.arg < 0) {
      throw InternalError(
          fmt::format("mhc kernel '{}': dim '{}' is not bound by any tensor", ck->ir.name, d.name));
    }
    ck->dims.push_back(b);
  }
  if (ck->ir.params.size() + ck->dims.size() > kMaxArgs || ck->dims.size() > 4) {
    throw InternalError(fmt::format("mhc kernel '{}': too many parameters", ck->ir.name));
  }
  std::lock_guard<std::mutex> lock(mutex);
  return cache.emplace(std::make_pair(device, key), std::move(ck)).first->second;
}

void launch(const CompiledKernel& k, const LaunchEnv& env, std::initializer_list<TensorView> args) {
  if (args.size() != k.ir.params.size()) {
    throw InternalError(fmt::format("mhc kernel '{}': {} arguments for {} parameters", k.ir.name,
                                    args.size(), k.ir.params.size()));
  }
  std::array<void*, kMaxArgs> slots{};
  std::array<std::uint64_t, kMaxArgs> storage{};
  std::size_t i = 0;
  for (const TensorView& t : args) {
    storage[i] = reinterpret_cast<std::uint64_t>(t.data());
    slots[i] = &storage[i];
    ++i;
  }
  std::array<std::int64_t, 4> dim_values{};
  for (std::size_t d = 0; d < k.dims.size(); ++d) {
    const TensorView& t = *(args.begin() + k.dims[d].arg);
    dim_values[d] = t.size(k.dims[d].axis);
    const int v = static_cast<int>(dim_values[d]);
    std::memcpy(&storage[i], &v, sizeof(v));
    slots[i] = &storage[i];
    ++i;
  }
  LaunchConfig config;
  unsigned g[3] = {1, 1, 1};
  for (std::size_t a = 0; a < k.ir.grid.size(); ++a) {
    const std::int64_t v = eval(k.ir.grid[a], k.ir.dims, dim_values);
    if (v <= 0) {
      return; // empty grid (T = 0): nothing to do
    }
    g[a] = static_cast<unsigned>(v);
  }
  config.grid = Dim3(g[0], g[1], g[2]);
  config.block = Dim3(static_cast<unsigned>(k.ir.threads));
  config.shared_bytes = k.shared_bytes;
  config.stream = env.stream;
  config.pdl = env.pdl && pdl_supported(env.device);
  k.kernel.launch_unchecked(config, slots.data());
}

bool pdl_supported(int device) {
  static std::mutex mutex;
  static std::map<int, bool> known;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = known.find(device);
  if (it == known.end()) {
    it = known.emplace(device, device_info(device).cc_major >= 9).first;
  }
  return it->second;
}

} // namespace tessera::mhc::internal
