// CUDA emitter: expressions, buffer element addressing and names.
#include "base/error.h"
#include "codegen/cuda/cuda_emitter.h"
#include "codegen/cuda/emitter.h"
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

std::string mul(const std::string& a, std::int64_t b) {
  if (b == 1) {
    return a;
  }
  if (a == "0" || b == 0) {
    return "0";
  }
  return fmt::format("{} * {}", a, b);
}

std::string add(const std::string& a, const std::string& b) {
  if (a == "0") {
    return b;
  }
  if (b == "0") {
    return a;
  }
  return a + " + " + b;
}

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

std::string CudaEmitter::name(const Buffer& b) {
  auto it = names.find(b.get());
  if (it != names.end()) {
    return it->second;
  }
  std::string base = b->name;
  if (reserved().count(base) || base.rfind("__", 0) == 0 || base.back() == '_') {
    base += "_";
  }
  std::string n = base;
  int& count = used_names[base];
  if (count > 0) {
    n = fmt::format("{}_{}", base, count);
  }
  ++count;
  used_names[n] = std::max(used_names[n], 1);
  names[b.get()] = n;
  return n;
}

std::string CudaEmitter::literal(DType t, double v) const {
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

std::string CudaEmitter::extent(const Buffer& b, int d) const {
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

std::string CudaEmitter::offset(const Buffer& b, const std::vector<std::string>& idx) const {
  if (idx.empty()) {
    return "0";
  }
  const bool wide = b->scope == Scope::global;
  std::string acc = idx[0];
  if (wide && acc != "0") {
    acc = fmt::format("static_cast<long long>({})", acc);
  }
  for (std::size_t d = 1; d < idx.size(); ++d) {
    const std::string e = extent(b, static_cast<int>(d));
    if (acc == "0") {
      acc = idx[d];
      if (wide && acc != "0") {
        acc = fmt::format("static_cast<long long>({})", acc);
      }
      continue;
    }
    const std::string scaled =
        e == "1"
            ? acc
            : fmt::format("{} * {}", acc.find(' ') != std::string::npos ? "(" + acc + ")" : acc, e);
    acc = add(scaled, idx[d]);
  }
  return acc;
}

std::string CudaEmitter::element(const Buffer& b, const std::vector<std::string>& idx) {
  if (b->scope == Scope::local && b->shape.empty()) {
    return name(b);
  }
  return fmt::format("{}[{}]", name(b), offset(b, idx));
}

std::string CudaEmitter::bound_register(const Buffer& b, const std::vector<Expr>& idx) {
  for (auto it = bindings.rbegin(); it != bindings.rend(); ++it) {
    const RegisterBinding& rb = *it;
    const Layout& l = lk.layout(b);
    const Var* last = idx.back().as<Var>();
    if (last == nullptr || last->name != rb.var || !l.same_partition(rb.layout)) {
      continue;
    }
    // ((lead * C + c) * V + v)
    std::string lead = "0";
    for (std::size_t d = 0; d + 1 < idx.size(); ++d) {
      const std::string i = expr(idx[d]);
      lead = lead == "0" ? i : add(fmt::format("({}) * {}", lead, l.shape[d]), i);
    }
    std::string row =
        rb.c.empty()
            ? mul(lead.find(' ') != std::string::npos ? "(" + lead + ")" : lead, 1)
            : add(mul(lead.find(' ') != std::string::npos ? "(" + lead + ")" : lead, l.chunks),
                  rb.c);
    if (row.find(' ') != std::string::npos) {
      row = "(" + row + ")";
    }
    return fmt::format("{}[{}]", name(b), add(mul(row, l.vec), rb.v));
  }
  return "";
}

std::string CudaEmitter::load(const Buffer& b, const std::vector<Expr>& idx) {
  if (b->scope == Scope::fragment) {
    const Layout& l = lk.layout(b);
    if (l.kind == LayoutKind::replicated) {
      std::vector<std::string> s;
      for (const Expr& e : idx) {
        s.push_back(expr(e));
      }
      return element(b, s);
    }
    if (l.kind == LayoutKind::mapped) {
      for (auto it = mapped_bindings.rbegin(); it != mapped_bindings.rend(); ++it) {
        bool match = it->layout.same_partition(l) && idx.size() == it->vars.size();
        for (std::size_t d = 0; match && d < idx.size(); ++d) {
          const Var* v = idx[d].as<Var>();
          match = v != nullptr && v->name == it->vars[d];
        }
        if (match) {
          return fmt::format("{}[{}]", name(b), it->reg);
        }
      }
      throw InternalError(fmt::format("fragment '{}' read outside its mapped layout", b->name));
    }
    std::string r = bound_register(b, idx);
    if (r.empty()) {
      throw InternalError(fmt::format("fragment '{}' read outside its partition", b->name));
    }
    return r;
  }
  std::vector<std::string> s;
  for (const Expr& e : idx) {
    s.push_back(expr(e));
  }
  return element(b, s);
}

std::string CudaEmitter::expr(const Expr& e) {
  switch (e.kind()) {
  case ExprKind::IntImm:
    return literal(e.type(), static_cast<double>(e.as<IntImm>()->value));
  case ExprKind::FloatImm:
    return literal(e.type(), e.as<FloatImm>()->value);
  case ExprKind::Var: {
    const Var* v = e.as<Var>();
    switch (v->var_kind) {
    case VarKind::thread_idx:
      return "thread_idx";
    default:
      return v->name;
    }
  }
  case ExprKind::Binary: {
    const Binary* op = e.as<Binary>();
    const std::string a = expr(op->a), b = expr(op->b);
    switch (op->op) {
    case BinaryOp::Min:
      return fmt::format("tessera::min({}, {})", a, b);
    case BinaryOp::Max:
      return fmt::format("tessera::max({}, {})", a, b);
    case BinaryOp::And:
      return fmt::format("({} && {})", a, b);
    case BinaryOp::Or:
      return fmt::format("({} || {})", a, b);
    default:
      return fmt::format("({} {} {})", a, binary_op_name(op->op), b);
    }
  }
  case ExprKind::Unary: {
    const Unary* op = e.as<Unary>();
    return fmt::format("{}({})", op->op == UnaryOp::Neg ? "-" : "!", expr(op->a));
  }
  case ExprKind::Select: {
    const Select* op = e.as<Select>();
    return fmt::format("({} ? {} : {})", expr(op->cond), expr(op->true_value),
                       expr(op->false_value));
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
    return load(op->buffer, op->indices);
  }
  }
  throw InternalError("cuda emitter: unknown expression kind");
}

} // namespace internal
} // namespace tessera::codegen
