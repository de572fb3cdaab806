#include "dsl/expr.h"

#include "base/error.h"

#include <fmt/format.h>

namespace tessera::dsl {

using namespace ir;

namespace detail {
std::string trace_context(); // dsl/kernel_builder.h (its Var alias would hide ir::Var here)
} // namespace detail

namespace {

/** A trace-time error: prefixed with "kernel 'k' at file:line" (the DSL statement being traced)
 *  inside a launch body, as the builder's own errors are. */
[[noreturn]] void fail(const std::string& problem) {
  const std::string where = detail::trace_context();
  throw UserError(where.empty() ? problem : fmt::format("{}: {}", where, problem));
}

int float_rank(DType t) {
  switch (t) {
  case DType::bf16:
  case DType::f16:
  case DType::f32:
    return 1; // half types compute in f32
  case DType::f64:
    return 2;
  default:
    return 0;
  }
}

/** Converts a literal or value to type t, folding integer immediates into float immediates. */
Expr convert(const Expr& e, DType t) {
  if (e.type() == t) {
    return e;
  }
  if (const auto* imm = e.as<IntImm>(); imm && is_float(t)) {
    return FloatImm::make(t, static_cast<double>(imm->value));
  }
  if (const auto* imm = e.as<IntImm>(); imm && is_integer(t)) {
    return IntImm::make(t, imm->value);
  }
  if (const auto* imm = e.as<FloatImm>(); imm && is_float(t)) {
    return FloatImm::make(t, imm->value);
  }
  return Cast::make(t, e);
}

void require_defined(const Expr& e, const char* what) {
  if (!e.defined()) {
    fail(fmt::format("{}: operand is an undefined expression", what));
  }
}

Expr arith(BinaryOp op, Expr a, Expr b) {
  require_defined(a, binary_op_name(op));
  require_defined(b, binary_op_name(op));
  if (a.type() == DType::boolean || b.type() == DType::boolean) {
    fail(fmt::format("operator {} cannot take a boolean operand", binary_op_name(op)));
  }
  auto [x, y] = promote(std::move(a), std::move(b));
  if (op == BinaryOp::Mod && is_float(x.type())) {
    fail("operator % needs integer operands");
  }
  return Binary::make(op, x, y);
}

Expr math(CallOp op, Expr x) {
  require_defined(x, call_op_name(op));
  if (!is_float(x.type())) {
    x = convert(x, DType::f32);
  } else if (x.type() == DType::bf16 || x.type() == DType::f16) {
    x = convert(x, DType::f32);
  }
  return Call::make(op, {x});
}

} // namespace

std::pair<Expr, Expr> promote(Expr a, Expr b) {
  const DType ta = a.type(), tb = b.type();
  if (ta == tb && float_rank(ta) != 1) {
    return {a, b};
  }
  DType common;
  if (is_float(ta) || is_float(tb)) {
    common = std::max(float_rank(ta), float_rank(tb)) == 2 ? DType::f64 : DType::f32;
  } else if (a.as<IntImm>() && !b.as<IntImm>()) {
    common = tb; // literals adopt the other side's integer type
  } else if (b.as<IntImm>() && !a.as<IntImm>()) {
    common = ta;
  } else if (ta == DType::i64 || tb == DType::i64) {
    common = DType::i64;
  } else if (ta == tb) {
    common = ta;
  } else {
    common = DType::i32;
  }
  return {convert(a, common), convert(b, common)};
}

Expr operator+(Expr a, Expr b) {
  return arith(BinaryOp::Add, std::move(a), std::move(b));
}
Expr operator-(Expr a, Expr b) {
  return arith(BinaryOp::Sub, std::move(a), std::move(b));
}
Expr operator*(Expr a, Expr b) {
  return arith(BinaryOp::Mul, std::move(a), std::move(b));
}
Expr operator/(Expr a, Expr b) {
  return arith(BinaryOp::Div, std::move(a), std::move(b));
}
Expr operator%(Expr a, Expr b) {
  return arith(BinaryOp::Mod, std::move(a), std::move(b));
}
Expr min(Expr a, Expr b) {
  return arith(BinaryOp::Min, std::move(a), std::move(b));
}
Expr max(Expr a, Expr b) {
  return arith(BinaryOp::Max, std::move(a), std::move(b));
}

Expr operator-(Expr a) {
  require_defined(a, "unary -");
  if (a.type() == DType::bf16 || a.type() == DType::f16) {
    a = convert(a, DType::f32);
  }
  return Unary::make(UnaryOp::Neg, a);
}

namespace {
Expr compare(BinaryOp op, Expr a, Expr b) {
  require_defined(a, binary_op_name(op));
  require_defined(b, binary_op_name(op));
  if (a.type() == DType::boolean && b.type() == DType::boolean &&
      (op == BinaryOp::EQ || op == BinaryOp::NE)) {
    return Binary::make(op, a, b);
  }
  auto [x, y] = promote(std::move(a), std::move(b));
  return Binary::make(op, x, y);
}

Expr logical(BinaryOp op, Expr a, Expr b) {
  require_defined(a, binary_op_name(op));
  require_defined(b, binary_op_name(op));
  if (a.type() != DType::boolean || b.type() != DType::boolean) {
    fail(fmt::format("operator {} needs boolean operands (comparisons)", binary_op_name(op)));
  }
  return Binary::make(op, a, b);
}
} // namespace

Expr operator==(Expr a, Expr b) {
  return compare(BinaryOp::EQ, std::move(a), std::move(b));
}
Expr operator!=(Expr a, Expr b) {
  return compare(BinaryOp::NE, std::move(a), std::move(b));
}
Expr operator<(Expr a, Expr b) {
  return compare(BinaryOp::LT, std::move(a), std::move(b));
}
Expr operator<=(Expr a, Expr b) {
  return compare(BinaryOp::LE, std::move(a), std::move(b));
}
Expr operator>(Expr a, Expr b) {
  return compare(BinaryOp::GT, std::move(a), std::move(b));
}
Expr operator>=(Expr a, Expr b) {
  return compare(BinaryOp::GE, std::move(a), std::move(b));
}
Expr operator&&(Expr a, Expr b) {
  return logical(BinaryOp::And, std::move(a), std::move(b));
}
Expr operator||(Expr a, Expr b) {
  return logical(BinaryOp::Or, std::move(a), std::move(b));
}
Expr operator!(Expr a) {
  require_defined(a, "!");
  if (a.type() != DType::boolean) {
    fail("operator ! needs a boolean operand");
  }
  return Unary::make(UnaryOp::Not, a);
}

Expr select(Expr cond, Expr t, Expr f) {
  require_defined(cond, "select");
  if (cond.type() != DType::boolean) {
    fail("select: the condition must be boolean (a comparison)");
  }
  auto [x, y] = promote(std::move(t), std::move(f));
  return Select::make(cond, x, y);
}

Expr cast(DType t, Expr e) {
  require_defined(e, "cast");
  return convert(e, t);
}

Expr store_conversion(DType t, Expr e) {
  require_defined(e, "store");
  if (is_float(e.type()) && is_integer(t)) {
    return e; // silent narrowing: left for the verifier to refuse with the buffer's name
  }
  return convert(e, t);
}

Expr ceil_div(Expr a, Expr b) {
  return (a + b - 1) / b;
}

Expr exp(Expr x) {
  return math(CallOp::exp, std::move(x));
}
Expr exp2(Expr x) {
  return math(CallOp::exp2, std::move(x));
}
Expr log(Expr x) {
  return math(CallOp::log, std::move(x));
}
Expr log2(Expr x) {
  return math(CallOp::log2, std::move(x));
}
Expr sqrt(Expr x) {
  return math(CallOp::sqrt, std::move(x));
}
Expr rsqrt(Expr x) {
  return math(CallOp::rsqrt, std::move(x));
}
Expr sigmoid(Expr x) {
  return math(CallOp::sigmoid, std::move(x));
}
Expr tanh(Expr x) {
  return math(CallOp::tanh, std::move(x));
}
Expr floor(Expr x) {
  return math(CallOp::floor, std::move(x));
}
Expr ceil(Expr x) {
  return math(CallOp::ceil, std::move(x));
}
Expr abs(Expr x) {
  require_defined(x, "abs");
  if (x.type() == DType::bf16 || x.type() == DType::f16) {
    x = convert(x, DType::f32);
  }
  return Call::make(CallOp::abs, {x});
}
Expr fma(Expr a, Expr b, Expr c) {
  auto [x, y] = promote(std::move(a), std::move(b));
  auto [xy, z] = promote(x, std::move(c));
  x = convert(x, xy.type());
  y = convert(y, xy.type());
  if (!is_float(z.type())) {
    fail("fma needs floating-point operands");
  }
  return Call::make(CallOp::fma, {x, y, z});
}

Expr thread_idx() {
  return Var::make(DType::i32, "thread_idx", VarKind::thread_idx);
}
Expr warp_idx() {
  return thread_idx() / 32;
}
Expr lane_idx() {
  return thread_idx() % 32;
}
Expr block_idx(int axis) {
  if (axis < 0 || axis > 2) {
    fail(fmt::format("block_idx: axis {} is not 0, 1 or 2", axis));
  }
  static const char* names[] = {"block_x", "block_y", "block_z"};
  return Var::make(DType::i32, names[axis], VarKind::block_idx, axis);
}

namespace {
void check_width(int width, const char* what) {
  if (width < 1 || width > 32 || (width & (width - 1)) != 0) {
    fail(fmt::format("{}: width {} is not a power of two in [1, 32]", what, width));
  }
}
} // namespace

Expr warp_sum(Expr value, int width) {
  check_width(width, "warp_sum");
  require_defined(value, "warp_sum");
  return Call::make(CallOp::warp_sum, {value, Expr(width)});
}
Expr warp_max(Expr value, int width) {
  check_width(width, "warp_max");
  require_defined(value, "warp_max");
  return Call::make(CallOp::warp_max, {value, Expr(width)});
}
Expr shfl_xor(Expr value, int lane_mask) {
  require_defined(value, "shfl_xor");
  return Call::make(CallOp::shfl_xor, {value, Expr(lane_mask)});
}
Expr shfl_idx(Expr value, Expr src_lane) {
  require_defined(value, "shfl_idx");
  return Call::make(CallOp::shfl_idx, {value, convert(src_lane, DType::i32)});
}

Expr constant(DType t, double v) {
  if (is_float(t)) {
    return FloatImm::make(t, v);
  }
  return IntImm::make(t, static_cast<std::int64_t>(v));
}

} // namespace tessera::dsl
