// CUDA printer: expressions, buffer element addressing and names.
#include "base/error.h"
#include "codegen/cuda/cuda_printer.h"
#include "codegen/cuda/printer.h"
#include "ir/util.h"

#include <cmath>
#include <fmt/format.h>
#include <set>

namespace tessera::codegen {

std::string cuda_type(DType t) {
  switch (t) {
  case DType::bf16:
    return "__nv_bfloat16";
  case DType::f16:
    return "__half";
  case DType::f32:
    return "float";
  case DType::f64:
    return "double";
  case DType::i8:
    return "signed char";
  case DType::i32:
    return "int";
  case DType::i64:
    return "long long";
  case DType::u8:
    return "unsigned char";
  case DType::u32:
    return "unsigned";
  case DType::boolean:
    return "bool";
  }
  return "void";
}

namespace internal {

using namespace ir;

namespace {
bool is_half(DType t) {
  return t == DType::bf16 || t == DType::f16;
}

const std::set<std::string>& reserved() {
  static const std::set<std::string> r = {
      "auto",       "break",        "case",     "char",      "const",     "continue", "default",
      "do",         "double",       "else",     "enum",      "extern",    "float",    "for",
      "goto",       "if",           "int",      "long",      "register",  "return",   "short",
      "signed",     "sizeof",       "static",   "struct",    "switch",    "typedef",  "union",
      "unsigned",   "void",         "volatile", "while",     "bool",      "class",    "new",
      "delete",     "this",         "template", "typename",  "namespace", "true",     "false",
      "private",    "public",       "using",    "operator",  "friend",    "virtual",  "tessera",
      "thread_idx", "tessera_smem", "blockIdx", "threadIdx", "min",       "max",      "std"};
  return r;
}
} // namespace

std::string CudaPrinter::name(const Buffer& b) {
  auto it = names.find(b.get());
  if (it != names.end()) {
    return it->second;
  }
  std::string base = b->name;
  if (reserved().count(base) || base.rfind("__", 0) == 0 || (base.back() == '_' && !b->internal)) {
    base += "_";
  }
  std::string n = base;
  int& count = used_names[base];
  if (count > 0) {
    n = base.back() == '_' ? fmt::format("{}{}", base, count) : fmt::format("{}_{}", base, count);
  }
  ++count;
  used_names[n] = std::max(used_names[n], 1);
  names[b.get()] = n;
  return n;
}

std::string CudaPrinter::literal(DType t, double v) const {
  if (t == DType::boolean) {
    return v != 0 ? "true" : "false";
  }
  if (!is_float(t)) {
    const auto i = static_cast<long long>(v);
    if (t == DType::i64) {
      return fmt::format("{}ll", i);
    }
    if (t == DType::u32) {
      return fmt::format("{}u", i);
    }
    return std::to_string(i);
  }
  const bool f32 = t != DType::f64;
  if (std::isnan(v)) {
    return f32 ? "__int_as_float(0x7fc00000)" : "__longlong_as_double(0x7ff8000000000000ll)";
  }
  if (std::isinf(v)) {
    const char* s = v > 0 ? "" : "-";
    return f32 ? fmt::format("{}__int_as_float(0x7f800000)", s)
               : fmt::format("{}__longlong_as_double(0x7ff0000000000000ll)", s);
  }
  std::string s = f32 ? fmt::format("{}", static_cast<float>(v)) : fmt::format("{}", v);
  if (s.find_first_of(".eE") == std::string::npos) {
    s += ".0";
  }
  std::string lit = f32 ? s + "f" : s;
  if (is_half(t)) {
    return fmt::format("tessera::convert<{}>({})", cuda_type(t), lit);
  }
  return lit;
}

std::string CudaPrinter::extent(const Buffer& b, int d) const {
  const std::int64_t e = const_extent(b, d);
  if (e >= 0) {
    return std::to_string(e);
  }
  const Var* v = b->shape[d].as<Var>();
  if (v == nullptr) {
    throw InternalError(
        fmt::format("buffer '{}': extent {} is neither constant nor a dim", b->name, d));
  }
  return v->name;
}

std::string CudaPrinter::offset(const Buffer& b, const std::vector<Expr>& idx) {
  // Row-major, Horner's rule; global tensors in 64-bit (they may exceed 2^31 elements).
  const bool wide = b->scope == Scope::global;
  std::string acc;
  for (std::size_t d = 0; d < idx.size(); ++d) {
    const IntImm* zero = idx[d].as<IntImm>();
    const bool is_zero = zero != nullptr && zero->value == 0;
    if (acc.empty()) {
      if (is_zero) {
        continue; // leading zero indices add nothing
      }
      // A leading index is scaled by the extents after it: bind it tighter than `*` then.
      const int level = d + 1 < idx.size() ? 5 : 6;
      acc = wide ? fmt::format("static_cast<long long>({})", expr(idx[d])) : operand(idx[d], level);
      continue;
    }
    const bool padded_row = d + 1 == idx.size() && b->row_pitch > 0;
    const std::string e =
        padded_row ? std::to_string(b->row_pitch) : extent(b, static_cast<int>(d));
    const std::string scaled = e == "1" ? acc : fmt::format("{} * {}", acc, e);
    acc = is_zero ? scaled : fmt::format("{} + {}", scaled, operand(idx[d], 5));
    if (d + 1 < idx.size()) {
      acc = "(" + acc + ")";
    }
  }
  return acc.empty() ? "0" : acc;
}

std::string CudaPrinter::element(const Buffer& b, const std::vector<Expr>& idx) {
  if (b->scope == Scope::local && b->shape.empty()) {
    return name(b);
  }
  return fmt::format("{}[{}]", name(b), offset(b, idx));
}

namespace {
/** C++ precedence levels (lower binds tighter) of the operators the printer writes. */
int precedence(BinaryOp op) {
  switch (op) {
  case BinaryOp::Mul:
  case BinaryOp::Div:
  case BinaryOp::Mod:
    return 5;
  case BinaryOp::Add:
  case BinaryOp::Sub:
    return 6;
  case BinaryOp::LT:
  case BinaryOp::LE:
  case BinaryOp::GT:
  case BinaryOp::GE:
    return 9;
  case BinaryOp::EQ:
  case BinaryOp::NE:
    return 10;
  case BinaryOp::And:
    return 14;
  case BinaryOp::Or:
    return 15;
  case BinaryOp::Min:
  case BinaryOp::Max:
    return 2; // a call
  }
  return 16;
}

int precedence(const Expr& e) {
  switch (e.kind()) {
  case ExprKind::Binary:
    return precedence(e.as<Binary>()->op);
  case ExprKind::Unary:
    return 3;
  case ExprKind::Select:
    return 16;
  case ExprKind::IntImm:
  case ExprKind::FloatImm: {
    // Negative literals read as unary minus.
    const bool neg = e.as<IntImm>() ? e.as<IntImm>()->value < 0 : e.as<FloatImm>()->value < 0;
    return neg ? 3 : 1;
  }
  default:
    return 1;
  }
}
} // namespace

bool CudaPrinter::non_negative(const Expr& e) const {
  switch (e.kind()) {
  case ExprKind::IntImm:
    return e.as<IntImm>()->value >= 0;
  case ExprKind::Var: {
    const Var* v = e.as<Var>();
    if (v->var_kind == VarKind::thread_idx || v->var_kind == VarKind::block_idx ||
        v->var_kind == VarKind::dim) {
      return true;
    }
    auto it = non_negative_vars.find(v->name);
    return it != non_negative_vars.end() && it->second > 0;
  }
  case ExprKind::Binary: {
    const Binary* b = e.as<Binary>();
    switch (b->op) {
    case BinaryOp::Add:
    case BinaryOp::Mul:
    case BinaryOp::Div:
    case BinaryOp::Mod:
    case BinaryOp::Min:
    case BinaryOp::Max:
      return is_integer(e.type()) && non_negative(b->a) && non_negative(b->b);
    default:
      return false;
    }
  }
  default:
    return false;
  }
}

int CudaPrinter::power_of_two_divisor(const Binary* op) const {
  const IntImm* d = op->b.as<IntImm>();
  if ((op->op != BinaryOp::Div && op->op != BinaryOp::Mod) || d == nullptr || d->value <= 1 ||
      (d->value & (d->value - 1)) != 0 || !is_integer(op->type) || !non_negative(op->a)) {
    return -1;
  }
  int k = 0;
  while ((std::int64_t{1} << k) < d->value) {
    ++k;
  }
  return k;
}

std::string CudaPrinter::operand(const Expr& e, int prec) {
  int p = precedence(e);
  if (const Binary* b = e.as<Binary>(); b && power_of_two_divisor(b) >= 0) {
    p = b->op == BinaryOp::Div ? 7 : 11; // printed as a shift or a mask
  }
  const std::string s = expr(e);
  return p > prec ? "(" + s + ")" : s;
}

std::string CudaPrinter::expr(const Expr& e) {
  switch (e.kind()) {
  case ExprKind::IntImm:
    return literal(e.type(), static_cast<double>(e.as<IntImm>()->value));
  case ExprKind::FloatImm:
    return literal(e.type(), e.as<FloatImm>()->value);
  case ExprKind::Var: {
    const Var* v = e.as<Var>();
    return v->var_kind == VarKind::thread_idx ? "thread_idx" : v->name;
  }
  case ExprKind::Binary: {
    const Binary* op = e.as<Binary>();
    const int p = precedence(op->op);
    // x / 2^k and x % 2^k of a non-negative x as the shift and mask they are: a signed
    // division would need sign fix-ups the compiler cannot drop (it does not know x >= 0).
    if (const int k = power_of_two_divisor(op); k >= 0) {
      return op->op == BinaryOp::Div
                 ? fmt::format("{} >> {}", operand(op->a, 7), k)
                 : fmt::format("{} & {}", operand(op->a, 7), (std::int64_t{1} << k) - 1);
    }
    switch (op->op) {
    case BinaryOp::Min:
      return fmt::format("tessera::min({}, {})", expr(op->a), expr(op->b));
    case BinaryOp::Max:
      return fmt::format("tessera::max({}, {})", expr(op->a), expr(op->b));
    default: {
      // The right operand of a same-precedence operator keeps its parentheses (the IR's
      // evaluation order: float arithmetic is not associative), except integer sums of sums
      // and products of products, which wrap identically in any order.
      const Binary* rb = op->b.as<Binary>();
      const bool assoc = is_integer(e.type()) && rb != nullptr && rb->op == op->op &&
                         (op->op == BinaryOp::Add || op->op == BinaryOp::Mul);
      return fmt::format("{} {} {}", operand(op->a, p), binary_op_name(op->op),
                         operand(op->b, assoc ? p : p - 1));
    }
    }
  }
  case ExprKind::Unary: {
    const Unary* op = e.as<Unary>();
    return fmt::format("{}{}", op->op == UnaryOp::Neg ? "-" : "!", operand(op->a, 2));
  }
  case ExprKind::Select: {
    const Select* op = e.as<Select>();
    return fmt::format("{} ? {} : {}", operand(op->cond, 15), operand(op->true_value, 15),
                       operand(op->false_value, 16));
  }
  case ExprKind::Cast: {
    const Cast* op = e.as<Cast>();
    if (is_half(op->type) || is_half(op->value.type())) {
      return fmt::format("tessera::convert<{}>({})", cuda_type(op->type), expr(op->value));
    }
    return fmt::format("static_cast<{}>({})", cuda_type(op->type), expr(op->value));
  }
  case ExprKind::Call: {
    const Call* op = e.as<Call>();
    std::string args;
    for (std::size_t i = 0; i < op->args.size(); ++i) {
      args += (i ? ", " : "") + expr(op->args[i]);
    }
    return fmt::format("tessera::{}({})", call_op_name(op->op), args);
  }
  case ExprKind::Load: {
    const Load* op = e.as<Load>();
    if (op->buffer->scope == Scope::fragment) {
      throw InternalError(
          fmt::format("cuda printer: fragment '{}' read in lowered IR", op->buffer->name));
    }
    return element(op->buffer, op->indices);
  }
  }
  throw InternalError("cuda printer: unknown expression kind");
}

} // namespace internal
} // namespace tessera::codegen
