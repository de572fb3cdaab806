#include "ir/simplify_fold.h"

#include "base/float16.h"

#include <cmath>
#include <limits>

namespace tessera::ir::internal {

std::int64_t wrap_int(DType t, std::int64_t v) {
  switch (t) {
  case DType::i8:
    return static_cast<std::int8_t>(v);
  case DType::u8:
    return static_cast<std::uint8_t>(v);
  case DType::i32:
    return static_cast<std::int32_t>(v);
  case DType::u32:
    return static_cast<std::uint32_t>(v);
  case DType::boolean:
    return v != 0 ? 1 : 0;
  default:
    return v;
  }
}

double round_float(DType t, double v) {
  switch (t) {
  case DType::f32:
    return static_cast<float>(v);
  case DType::bf16:
    return bf16_bits_to_float(float_to_bf16_bits(static_cast<float>(v)));
  case DType::f16:
    return f16_bits_to_float(float_to_f16_bits(static_cast<float>(v)));
  default:
    return v;
  }
}

Expr make_int(DType t, std::int64_t v) {
  return IntImm::make(t, wrap_int(t, v));
}
Expr make_float(DType t, double v) {
  return FloatImm::make(t, round_float(t, v));
}
Expr make_bool(bool v) {
  return IntImm::make(DType::boolean, v ? 1 : 0);
}

std::optional<std::int64_t> int_value(const Expr& e) {
  const IntImm* imm = e.as<IntImm>();
  if (imm == nullptr) {
    return std::nullopt;
  }
  return wrap_int(imm->type, imm->value);
}

std::optional<double> float_value(const Expr& e) {
  const FloatImm* imm = e.as<FloatImm>();
  return imm ? std::optional<double>(imm->value) : std::nullopt;
}

namespace {

std::int64_t min_of(DType t) {
  switch (t) {
  case DType::i8:
    return std::numeric_limits<std::int8_t>::min();
  case DType::i32:
    return std::numeric_limits<std::int32_t>::min();
  case DType::i64:
    return std::numeric_limits<std::int64_t>::min();
  default:
    return 0;
  }
}

std::int64_t max_of(DType t) {
  switch (t) {
  case DType::i8:
    return std::numeric_limits<std::int8_t>::max();
  case DType::u8:
    return std::numeric_limits<std::uint8_t>::max();
  case DType::i32:
    return std::numeric_limits<std::int32_t>::max();
  case DType::u32:
    return std::numeric_limits<std::uint32_t>::max();
  case DType::boolean:
    return 1;
  default:
    return std::numeric_limits<std::int64_t>::max();
  }
}

std::optional<Expr> fold_int(BinaryOp op, DType t, std::int64_t a, std::int64_t b) {
  // Unsigned arithmetic wraps without undefined behaviour; wrap_int then narrows to the type.
  const auto ua = static_cast<std::uint64_t>(a), ub = static_cast<std::uint64_t>(b);
  switch (op) {
  case BinaryOp::Add:
    return make_int(t, static_cast<std::int64_t>(ua + ub));
  case BinaryOp::Sub:
    return make_int(t, static_cast<std::int64_t>(ua - ub));
  case BinaryOp::Mul:
    return make_int(t, static_cast<std::int64_t>(ua * ub));
  case BinaryOp::Div:
  case BinaryOp::Mod:
    // Division by zero and INT_MIN / -1 are undefined in C (and trap on some targets): leave
    // them for run time rather than inventing a value.
    if (b == 0 || (b == -1 && a == min_of(t))) {
      return std::nullopt;
    }
    return make_int(t, op == BinaryOp::Div ? a / b : a % b); // C++ truncates like C
  case BinaryOp::Min:
    return make_int(t, std::min(a, b));
  case BinaryOp::Max:
    return make_int(t, std::max(a, b));
  case BinaryOp::EQ:
    return make_bool(a == b);
  case BinaryOp::NE:
    return make_bool(a != b);
  case BinaryOp::LT:
    return make_bool(a < b);
  case BinaryOp::LE:
    return make_bool(a <= b);
  case BinaryOp::GT:
    return make_bool(a > b);
  case BinaryOp::GE:
    return make_bool(a >= b);
  case BinaryOp::And:
    return make_bool(a != 0 && b != 0);
  case BinaryOp::Or:
    return make_bool(a != 0 || b != 0);
  }
  return std::nullopt;
}

std::optional<Expr> fold_float(BinaryOp op, DType t, double a, double b) {
  // f32 operations are exact when done in double and rounded once (53 >= 2 * 24 + 2 bits).
  switch (op) {
  case BinaryOp::Add:
    return make_float(t, a + b);
  case BinaryOp::Sub:
    return make_float(t, a - b);
  case BinaryOp::Mul:
    return make_float(t, a * b);
  case BinaryOp::Div:
    return make_float(t, a / b);
  case BinaryOp::Min:
    return make_float(t, std::fmin(a, b)); // fminf: a NaN operand yields the other one
  case BinaryOp::Max:
    return make_float(t, std::fmax(a, b));
  case BinaryOp::EQ:
    return make_bool(a == b);
  case BinaryOp::NE:
    return make_bool(a != b);
  case BinaryOp::LT:
    return make_bool(a < b);
  case BinaryOp::LE:
    return make_bool(a <= b);
  case BinaryOp::GT:
    return make_bool(a > b);
  case BinaryOp::GE:
    return make_bool(a >= b);
  default:
    return std::nullopt;
  }
}

} // namespace

std::optional<Expr> fold_binary(BinaryOp op, const Expr& a, const Expr& b) {
  const DType t = a.type();
  if (auto x = int_value(a)) {
    if (auto y = int_value(b)) {
      return fold_int(op, t, *x, *y);
    }
    return std::nullopt;
  }
  if (auto x = float_value(a)) {
    if (auto y = float_value(b)) {
      return fold_float(op, t, *x, *y);
    }
  }
  return std::nullopt;
}

std::optional<Expr> fold_unary(UnaryOp op, const Expr& a) {
  if (auto x = int_value(a)) {
    if (op == UnaryOp::Not) {
      return make_bool(*x == 0);
    }
    return make_int(a.type(), static_cast<std::int64_t>(0 - static_cast<std::uint64_t>(*x)));
  }
  if (auto x = float_value(a); x && op == UnaryOp::Neg) {
    return make_float(a.type(), -*x);
  }
  return std::nullopt;
}

std::optional<Expr> fold_cast(DType t, const Expr& v) {
  if (auto x = int_value(v)) {
    if (t == DType::boolean) {
      return make_bool(*x != 0);
    }
    if (is_integer(t)) {
      return make_int(t, *x);
    }
    // Convert straight to float (one rounding) where the device does, then to bf16/f16.
    const bool narrow = t != DType::f64;
    return make_float(t, narrow ? static_cast<double>(static_cast<float>(*x))
                                : static_cast<double>(*x));
  }
  auto x = float_value(v);
  if (!x) {
    return std::nullopt;
  }
  if (t == DType::boolean) {
    return make_bool(*x != 0.0);
  }
  if (is_float(t)) {
    return make_float(t, *x);
  }
  // Float to integer truncates toward zero; out-of-range values and NaN are left for run time
  // (the device saturates, C++ does not define them).
  const double r = std::trunc(*x);
  const bool too_big = t == DType::i64 ? r >= std::ldexp(1.0, 63) // INT64_MAX is not a double
                                       : r > static_cast<double>(max_of(t));
  if (std::isnan(r) || too_big || r < static_cast<double>(min_of(t))) {
    return std::nullopt;
  }
  return make_int(t, static_cast<std::int64_t>(r));
}

std::optional<Expr> fold_call(CallOp op, const std::vector<Expr>& args) {
  if (args.empty()) {
    return std::nullopt;
  }
  const DType t = args[0].type();
  if (op == CallOp::abs) {
    if (auto i = int_value(args[0])) {
      return make_int(t,
                      *i < 0 ? static_cast<std::int64_t>(0 - static_cast<std::uint64_t>(*i)) : *i);
    }
  }
  std::vector<double> v;
  for (const Expr& a : args) {
    auto f = float_value(a);
    if (!f) {
      return std::nullopt;
    }
    v.push_back(*f);
  }
  const double x = v[0];
  switch (op) {
  case CallOp::exp:
    return make_float(t, std::exp(x));
  case CallOp::exp2:
    return make_float(t, std::exp2(x));
  case CallOp::log:
    return make_float(t, std::log(x));
  case CallOp::log2:
    return make_float(t, std::log2(x));
  case CallOp::sqrt:
    return make_float(t, std::sqrt(x));
  case CallOp::rsqrt:
    return make_float(t, 1.0 / std::sqrt(x));
  case CallOp::sigmoid:
    return make_float(t, 1.0 / (1.0 + std::exp(-x)));
  case CallOp::tanh:
    return make_float(t, std::tanh(x));
  case CallOp::abs:
    return make_float(t, std::fabs(x));
  case CallOp::floor:
    return make_float(t, std::floor(x));
  case CallOp::ceil:
    return make_float(t, std::ceil(x));
  case CallOp::fma:
    if (v.size() != 3) {
      return std::nullopt;
    }
    // One rounding, in the operands' precision.
    if (t == DType::f64) {
      return make_float(t, std::fma(v[0], v[1], v[2]));
    }
    return make_float(
        t, std::fma(static_cast<float>(v[0]), static_cast<float>(v[1]), static_cast<float>(v[2])));
  default:
    return std::nullopt; // warp functions depend on other lanes
  }
}

} // namespace tessera::ir::internal
