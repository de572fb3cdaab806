#include "jit/launch_plan.h"

#include "base/error.h"

#include <cstring>
#include <fmt/format.h>
#include <limits>

namespace tessera {

using namespace ir;

LaunchPlan::LaunchPlan(const Kernel& k, std::int64_t shared_bytes, MemoryKind memory)
    : name_(k.name), grid_(k.grid), threads_(k.threads), shared_bytes_(shared_bytes),
      memory_(memory) {
  for (const DynamicDim& d : k.dims) {
    dim_names_.push_back(d.name);
  }
  for (const Param& p : k.params) {
    ParamSlot s;
    s.tensor = p.kind == Param::Kind::tensor;
    s.name = p.name;
    s.dtype = p.dtype;
    if (s.tensor) {
      for (const Expr& e : p.buffer->shape) {
        DimRef r;
        if (const IntImm* imm = e.as<IntImm>()) {
          r.constant = imm->value;
        } else if (const Var* v = e.as<Var>()) {
          r.dim = v->axis;
        }
        s.shape.push_back(r);
      }
    }
    params_.push_back(std::move(s));
  }
  if (params_.size() + dim_names_.size() > static_cast<std::size_t>(kMaxKernelParams)) {
    throw UserError(fmt::format("kernel '{}' has {} parameters; at most {} are supported", name_,
                                params_.size() + dim_names_.size(), kMaxKernelParams));
  }
}

namespace {

struct Values {
  const std::int64_t* dims;
  std::span<const KernelArg> args;
};

/** Evaluates a grid extent: integer arithmetic over dims and scalar parameters. */
std::int64_t eval(const Expr& e, const Values& v, const std::string& kernel) {
  switch (e.kind()) {
  case ExprKind::IntImm:
    return e.as<IntImm>()->value;
  case ExprKind::FloatImm:
    return static_cast<std::int64_t>(e.as<FloatImm>()->value);
  case ExprKind::Var: {
    const Var* var = e.as<Var>();
    if (var->var_kind == VarKind::dim) {
      return v.dims[var->axis];
    }
    if (var->var_kind == VarKind::scalar) {
      const KernelArg& a = v.args[var->axis];
      return is_float(a.dtype) ? static_cast<std::int64_t>(a.f) : a.i;
    }
    break;
  }
  case ExprKind::Cast: {
    const Cast* c = e.as<Cast>();
    return eval(c->value, v, kernel);
  }
  case ExprKind::Select: {
    const Select* s = e.as<Select>();
    return eval(s->cond, v, kernel) ? eval(s->true_value, v, kernel)
                                    : eval(s->false_value, v, kernel);
  }
  case ExprKind::Binary: {
    const Binary* b = e.as<Binary>();
    const std::int64_t x = eval(b->a, v, kernel), y = eval(b->b, v, kernel);
    switch (b->op) {
    case BinaryOp::Add:
      return x + y;
    case BinaryOp::Sub:
      return x - y;
    case BinaryOp::Mul:
      return x * y;
    case BinaryOp::Div:
      return y == 0 ? 0 : x / y;
    case BinaryOp::Mod:
      return y == 0 ? 0 : x % y;
    case BinaryOp::Min:
      return std::min(x, y);
    case BinaryOp::Max:
      return std::max(x, y);
    case BinaryOp::EQ:
      return x == y;
    case BinaryOp::NE:
      return x != y;
    case BinaryOp::LT:
      return x < y;
    case BinaryOp::LE:
      return x <= y;
    case BinaryOp::GT:
      return x > y;
    case BinaryOp::GE:
      return x >= y;
    case BinaryOp::And:
      return x && y;
    case BinaryOp::Or:
      return x || y;
    }
    break;
  }
  default:
    break;
  }
  throw UserError(fmt::format("kernel '{}': the grid uses an expression the launcher cannot "
                              "evaluate (only dims, scalars and integer arithmetic)",
                              kernel));
}

} // namespace

void LaunchPlan::bind(std::span<const KernelArg> args, BoundLaunch& out) const {
  if (args.size() != params_.size()) {
    std::string names;
    for (const ParamSlot& p : params_) {
      names += (names.empty() ? "" : ", ") + p.name;
    }
    throw UserError(fmt::format("kernel '{}' takes {} arguments ({}), got {}", name_,
                                params_.size(), names, args.size()));
  }
  std::array<std::int64_t, kMaxKernelParams> dims;
  std::array<int, kMaxKernelParams> bound_by;
  dims.fill(-1);
  bound_by.fill(-1);
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const ParamSlot& p = params_[i];
    const KernelArg& a = args[i];
    if (!p.tensor) {
      if (a.kind != KernelArg::Kind::scalar) {
        throw UserError(fmt::format("kernel '{}': argument {} ('{}') is a scalar {}, got a tensor",
                                    name_, i, p.name, dtype_name(p.dtype)));
      }
      if (a.dtype != p.dtype) {
        throw UserError(fmt::format("kernel '{}': scalar argument {} ('{}') must be {}, got {}",
                                    name_, i, p.name, dtype_name(p.dtype), dtype_name(a.dtype)));
      }
      std::uint64_t bits = 0;
      switch (p.dtype) {
      case DType::f32: {
        const float f = static_cast<float>(a.f);
        std::memcpy(&bits, &f, 4);
        break;
      }
      case DType::f64:
        std::memcpy(&bits, &a.f, 8);
        break;
      case DType::i64:
        std::memcpy(&bits, &a.i, 8);
        break;
      default: {
        const std::int32_t x = static_cast<std::int32_t>(a.i);
        std::memcpy(&bits, &x, 4);
        break;
      }
      }
      out.storage[i] = bits;
      out.args[i] = &out.storage[i];
      continue;
    }
    if (a.kind != KernelArg::Kind::tensor || a.tensor == nullptr) {
      throw UserError(fmt::format("kernel '{}': argument {} ('{}') is a {} tensor, got a scalar",
                                  name_, i, p.name, dtype_name(p.dtype)));
    }
    const TensorView& t = *a.tensor;
    if (t.dtype() != p.dtype) {
      throw UserError(fmt::format("kernel '{}': tensor '{}' must be {}, got {}", name_, p.name,
                                  dtype_name(p.dtype), t.describe()));
    }
    if (t.rank() != static_cast<int>(p.shape.size())) {
      throw UserError(fmt::format("kernel '{}': tensor '{}' must have rank {}, got {}", name_,
                                  p.name, p.shape.size(), t.describe()));
    }
    for (int d = 0; d < t.rank(); ++d) {
      const DimRef& r = p.shape[d];
      const std::int64_t got = t.size(d);
      if (r.constant >= 0 && got != r.constant) {
        throw UserError(fmt::format("kernel '{}': tensor '{}' dim {} must be {}, got {} ({})",
                                    name_, p.name, d, r.constant, got, t.describe()));
      }
      if (r.dim >= 0) {
        if (got > std::numeric_limits<std::int32_t>::max()) {
          throw UserError(fmt::format("kernel '{}': tensor '{}' dim {} ('{}') = {} exceeds "
                                      "2^31 - 1",
                                      name_, p.name, d, dim_names_[r.dim], got));
        }
        if (dims[r.dim] < 0) {
          dims[r.dim] = got;
          bound_by[r.dim] = static_cast<int>(i);
        } else if (dims[r.dim] != got) {
          throw UserError(fmt::format(
              "kernel '{}': dim '{}' is {} from tensor '{}' but tensor '{}' dim {} is {}", name_,
              dim_names_[r.dim], dims[r.dim], params_[bound_by[r.dim]].name, p.name, d, got));
        }
      }
    }
    if (t.memory() != memory_) {
      throw UserError(memory_ == MemoryKind::cuda
                          ? fmt::format("kernel '{}': tensor '{}' must be in device memory (the "
                                        "kernel was compiled for the cuda target; host tensors "
                                        "need Target::cpu), got {}",
                                        name_, p.name, t.describe())
                          : fmt::format("kernel '{}': tensor '{}' must be in host memory (the "
                                        "kernel was compiled for the cpu target), got {}",
                                        name_, p.name, t.describe()));
    }
    if (!t.is_contiguous()) {
      throw UserError(fmt::format("kernel '{}': tensor '{}' must be contiguous (row-major), got {}",
                                  name_, p.name, t.describe()));
    }
    if (t.data() == nullptr && t.numel() > 0) {
      throw UserError(
          fmt::format("kernel '{}': tensor '{}' has a null data pointer", name_, p.name));
    }
    if (reinterpret_cast<std::uintptr_t>(t.data()) % 16 != 0) {
      throw UserError(fmt::format("kernel '{}': tensor '{}' data pointer {} is not 16-byte "
                                  "aligned (the generated code uses 16-byte vector accesses)",
                                  name_, p.name, t.data()));
    }
    out.storage[i] = reinterpret_cast<std::uint64_t>(t.data());
    out.args[i] = &out.storage[i];
  }
  for (std::size_t d = 0; d < dim_names_.size(); ++d) {
    if (dims[d] < 0) {
      throw UserError(fmt::format("kernel '{}': dim '{}' is used by no tensor parameter", name_,
                                  dim_names_[d]));
    }
    const std::size_t slot = params_.size() + d;
    const std::int32_t v = static_cast<std::int32_t>(dims[d]);
    out.storage[slot] = 0;
    std::memcpy(&out.storage[slot], &v, 4);
    out.args[slot] = &out.storage[slot];
  }
  out.count = static_cast<int>(params_.size() + dim_names_.size());
  const Values values{dims.data(), args};
  out.empty = false;
  static constexpr std::int64_t kLimit[3] = {2147483647, 65535, 65535};
  for (std::size_t g = 0; g < 3; ++g) {
    const std::int64_t e = g < grid_.size() ? eval(grid_[g], values, name_) : 1;
    if (e < 0 || e > kLimit[g]) {
      throw UserError(
          fmt::format("kernel '{}': grid extent {} is {} (allowed 0..{})", name_, g, e, kLimit[g]));
    }
    out.empty |= e == 0;
    out.grid[g] = static_cast<unsigned>(e);
  }
  out.block = static_cast<unsigned>(threads_);
  out.shared_bytes = static_cast<unsigned>(shared_bytes_);
}

} // namespace tessera
