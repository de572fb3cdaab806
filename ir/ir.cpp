#include "ir/ir.h"

#include "base/error.h"

#include <fmt/format.h>

namespace tessera::ir {

SourceLoc SourceLoc::from(const std::source_location& loc) {
  return SourceLoc{loc.file_name(), static_cast<int>(loc.line())};
}

std::string SourceLoc::str() const {
  if (file.empty()) {
    return "<unknown>";
  }
  const auto slash = file.find_last_of('/');
  return fmt::format("{}:{}", slash == std::string::npos ? file : file.substr(slash + 1), line);
}

Expr::Expr(int value) : Expr(IntImm::make(DType::i32, value)) {}
Expr::Expr(std::int64_t value) : Expr(IntImm::make(DType::i64, value)) {}
Expr::Expr(float value) : Expr(FloatImm::make(DType::f32, value)) {}
Expr::Expr(double value) : Expr(FloatImm::make(DType::f32, value)) {}

const char* scope_name(Scope s) {
  switch (s) {
  case Scope::global:
    return "global";
  case Scope::shared:
    return "shared";
  case Scope::fragment:
    return "fragment";
  case Scope::local:
    return "local";
  }
  return "?";
}

std::int64_t const_extent(const Buffer& b, int d) {
  const auto* imm = b->shape.at(d).as<IntImm>();
  return imm ? imm->value : -1;
}

std::int64_t const_numel(const Buffer& b) {
  std::int64_t n = 1;
  for (std::size_t d = 0; d < b->shape.size(); ++d) {
    const std::int64_t e = const_extent(b, static_cast<int>(d));
    if (e < 0) {
      return -1;
    }
    n *= e;
  }
  return n;
}

std::int64_t storage_row_pitch(const Buffer& b) {
  if (b->shape.empty()) {
    return 1;
  }
  return b->row_pitch > 0 ? b->row_pitch : const_extent(b, static_cast<int>(b->shape.size()) - 1);
}

std::int64_t storage_numel(const Buffer& b) {
  const std::int64_t n = const_numel(b);
  if (n <= 0 || b->row_pitch == 0 || b->shape.empty()) {
    return n;
  }
  return n / const_extent(b, static_cast<int>(b->shape.size()) - 1) * b->row_pitch;
}

Expr IntImm::make(DType t, std::int64_t v) {
  if (!is_integer(t) && t != DType::boolean) {
    throw InternalError(fmt::format("IntImm of non-integer type {}", dtype_name(t)));
  }
  return Expr(std::make_shared<IntImm>(t, v));
}

Expr FloatImm::make(DType t, double v) {
  if (!is_float(t)) {
    throw InternalError(fmt::format("FloatImm of non-float type {}", dtype_name(t)));
  }
  return Expr(std::make_shared<FloatImm>(t, v));
}

Expr Var::make(DType t, std::string name, VarKind kind, int axis) {
  return Expr(std::make_shared<Var>(t, std::move(name), kind, axis));
}

const char* binary_op_name(BinaryOp op) {
  switch (op) {
  case BinaryOp::Add:
    return "+";
  case BinaryOp::Sub:
    return "-";
  case BinaryOp::Mul:
    return "*";
  case BinaryOp::Div:
    return "/";
  case BinaryOp::Mod:
    return "%";
  case BinaryOp::Min:
    return "min";
  case BinaryOp::Max:
    return "max";
  case BinaryOp::EQ:
    return "==";
  case BinaryOp::NE:
    return "!=";
  case BinaryOp::LT:
    return "<";
  case BinaryOp::LE:
    return "<=";
  case BinaryOp::GT:
    return ">";
  case BinaryOp::GE:
    return ">=";
  case BinaryOp::And:
    return "&&";
  case BinaryOp::Or:
    return "||";
  }
  return "?";
}

bool is_comparison(BinaryOp op) {
  return op == BinaryOp::EQ || op == BinaryOp::NE || op == BinaryOp::LT || op == BinaryOp::LE ||
         op == BinaryOp::GT || op == BinaryOp::GE;
}

Expr Binary::make(BinaryOp op, Expr a, Expr b) {
  if (!a.defined() || !b.defined()) {
    throw InternalError("Binary::make with an undefined operand");
  }
  if (a.type() != b.type()) {
    throw InternalError(fmt::format("Binary::make: operand types differ ({} {} {})",
                                    dtype_name(a.type()), binary_op_name(op),
                                    dtype_name(b.type())));
  }
  const bool logical = op == BinaryOp::And || op == BinaryOp::Or;
  if (logical && a.type() != DType::boolean) {
    throw InternalError("Binary::make: && / || need boolean operands");
  }
  const DType t = is_comparison(op) || logical ? DType::boolean : a.type();
  return Expr(std::make_shared<Binary>(t, op, std::move(a), std::move(b)));
}

Expr Unary::make(UnaryOp op, Expr a) {
  const DType t = op == UnaryOp::Not ? DType::boolean : a.type();
  if (op == UnaryOp::Not && a.type() != DType::boolean) {
    throw InternalError("Unary::make: ! needs a boolean operand");
  }
  return Expr(std::make_shared<Unary>(t, op, std::move(a)));
}

Expr Select::make(Expr cond, Expr true_value, Expr false_value) {
  if (cond.type() != DType::boolean || true_value.type() != false_value.type()) {
    throw InternalError("Select::make: needs a boolean condition and equal branch types");
  }
  const DType t = true_value.type();
  return Expr(
      std::make_shared<Select>(t, std::move(cond), std::move(true_value), std::move(false_value)));
}

Expr Cast::make(DType t, Expr v) {
  if (v.type() == t) {
    return v;
  }
  return Expr(std::make_shared<Cast>(t, std::move(v)));
}

const char* call_op_name(CallOp op) {
  switch (op) {
  case CallOp::exp:
    return "exp";
  case CallOp::exp2:
    return "exp2";
  case CallOp::log:
    return "log";
  case CallOp::log2:
    return "log2";
  case CallOp::sqrt:
    return "sqrt";
  case CallOp::rsqrt:
    return "rsqrt";
  case CallOp::sigmoid:
    return "sigmoid";
  case CallOp::tanh:
    return "tanh";
  case CallOp::abs:
    return "abs";
  case CallOp::floor:
    return "floor";
  case CallOp::ceil:
    return "ceil";
  case CallOp::fma:
    return "fma";
  case CallOp::warp_sum:
    return "warp_sum";
  case CallOp::warp_max:
    return "warp_max";
  case CallOp::warp_min:
    return "warp_min";
  case CallOp::round_tf32:
    return "round_tf32";
  case CallOp::shfl_xor:
    return "shfl_xor";
  case CallOp::shfl_idx:
    return "shfl_idx";
  }
  return "?";
}

bool is_warp_op(CallOp op) {
  return op == CallOp::warp_sum || op == CallOp::warp_max || op == CallOp::warp_min ||
         op == CallOp::shfl_xor || op == CallOp::shfl_idx;
}

Expr Call::make(CallOp op, std::vector<Expr> args) {
  if (args.empty() || !args[0].defined()) {
    throw InternalError(fmt::format("Call::make({}) without arguments", call_op_name(op)));
  }
  const DType t = args[0].type();
  return Expr(std::make_shared<Call>(t, op, std::move(args)));
}

Expr Load::make(Buffer buffer, std::vector<Expr> indices) {
  if (indices.size() != buffer->shape.size()) {
    throw InternalError(fmt::format("Load of {}: {} indices for rank {}", buffer->name,
                                    indices.size(), buffer->shape.size()));
  }
  const DType t = buffer->dtype;
  return Expr(std::make_shared<Load>(t, std::move(buffer), std::move(indices)));
}

Region Region::whole(const Buffer& b) {
  Region r{b, {}};
  for (std::size_t d = 0; d < b->shape.size(); ++d) {
    const std::int64_t e = const_extent(b, static_cast<int>(d));
    if (e < 0) {
      throw InternalError(fmt::format("Region::whole({}): dimension {} is dynamic", b->name, d));
    }
    r.ranges.push_back(Range{Expr(0), e, false});
  }
  return r;
}

std::vector<std::int64_t> Region::shape() const {
  std::vector<std::int64_t> s;
  for (const Range& r : ranges) {
    if (!r.squeezed) {
      s.push_back(r.extent);
    }
  }
  return s;
}

Stmt Block::make(std::vector<Stmt> stmts, SourceLoc loc, std::string note) {
  return Stmt(std::make_shared<Block>(std::move(loc), std::move(stmts), std::move(note)));
}

Stmt Allocate::make(Buffer buffer, SourceLoc loc, std::shared_ptr<const Layout> layout,
                    std::int64_t offset) {
  return Stmt(
      std::make_shared<Allocate>(std::move(loc), std::move(buffer), std::move(layout), offset));
}

const char* for_kind_name(ForKind k) {
  switch (k) {
  case ForKind::serial:
    return "serial";
  case ForKind::unrolled:
    return "unrolled";
  case ForKind::pipelined:
    return "pipelined";
  }
  return "?";
}

Stmt For::make(Expr var, Expr min, Expr extent, ForKind kind, Stmt body, SourceLoc loc, int stages,
               int unroll) {
  return Stmt(std::make_shared<For>(std::move(loc), std::move(var), std::move(min),
                                    std::move(extent), kind, stages, unroll, std::move(body)));
}

Stmt Parallel::make(std::vector<Expr> vars, std::vector<std::int64_t> extents, Stmt body,
                    SourceLoc loc, std::shared_ptr<const ParallelPlan> plan) {
  if (vars.size() != extents.size() || vars.empty()) {
    throw InternalError("Parallel::make: vars and extents differ in count");
  }
  return Stmt(std::make_shared<Parallel>(std::move(loc), std::move(vars), std::move(extents),
                                         std::move(body), std::move(plan)));
}

Stmt IfThenElse::make(Expr cond, Stmt then_case, Stmt else_case, SourceLoc loc) {
  return Stmt(std::make_shared<IfThenElse>(std::move(loc), std::move(cond), std::move(then_case),
                                           std::move(else_case)));
}

Stmt Store::make(Buffer buffer, std::vector<Expr> indices, Expr value, SourceLoc loc) {
  return Stmt(std::make_shared<Store>(std::move(loc), std::move(buffer), std::move(indices),
                                      std::move(value)));
}

Stmt Atomic::make(AtomicOp op, Buffer buffer, std::vector<Expr> indices, Expr value,
                  SourceLoc loc) {
  return Stmt(std::make_shared<Atomic>(std::move(loc), op, std::move(buffer), std::move(indices),
                                       std::move(value)));
}

Stmt ThreadRange::make(int begin, int end, Stmt body, SourceLoc loc) {
  return Stmt(std::make_shared<ThreadRange>(std::move(loc), begin, end, std::move(body)));
}

Stmt Barrier::make(SourceLoc loc, BarrierScope scope) {
  return Stmt(std::make_shared<Barrier>(std::move(loc), scope));
}
Stmt PdlWait::make(SourceLoc loc) {
  return Stmt(std::make_shared<PdlWait>(std::move(loc)));
}
Stmt PdlTrigger::make(SourceLoc loc) {
  return Stmt(std::make_shared<PdlTrigger>(std::move(loc)));
}

Stmt LetStmt::make(Expr var, Expr value, Stmt body, SourceLoc loc) {
  if (!var.as<Var>()) {
    throw InternalError("LetStmt::make: the bound name must be a Var");
  }
  return Stmt(
      std::make_shared<LetStmt>(std::move(loc), std::move(var), std::move(value), std::move(body)));
}

Stmt VectorCopy::make(Buffer dst, std::vector<Expr> dst_index, Buffer src,
                      std::vector<Expr> src_index, int lanes, bool async, SourceLoc loc) {
  if (lanes < 1) {
    throw InternalError("VectorCopy::make: lanes must be positive");
  }
  return Stmt(std::make_shared<VectorCopy>(std::move(loc), std::move(dst), std::move(dst_index),
                                           std::move(src), std::move(src_index), lanes, async));
}

Stmt AsyncCommit::make(SourceLoc loc) {
  return Stmt(std::make_shared<AsyncCommit>(std::move(loc)));
}

Stmt AsyncWait::make(int pending, SourceLoc loc) {
  return Stmt(std::make_shared<AsyncWait>(std::move(loc), pending));
}

const char* mma_path_name(MmaPath p) {
  switch (p) {
  case MmaPath::bf16:
    return "bf16";
  case MmaPath::f16:
    return "f16";
  case MmaPath::tf32:
    return "tf32";
  case MmaPath::fp32:
    return "fp32";
  case MmaPath::tf32x3:
    return "tf32x3";
  }
  return "?";
}

Stmt MmaTile::make(const MmaTile& f) {
  return Stmt(std::make_shared<MmaTile>(f));
}

} // namespace tessera::ir
