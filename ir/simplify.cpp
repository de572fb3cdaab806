#include "ir/simplify.h"

#include "ir/equal.h"
#include "ir/simplify_fold.h"
#include "ir/visitor.h"

#include <cmath>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace tessera::ir {

using namespace internal;

namespace {

bool is_const(const Expr& e) {
  return e.as<IntImm>() || e.as<FloatImm>();
}

bool is_int_const(const Expr& e, std::int64_t v) {
  auto x = int_value(e);
  return x && *x == v;
}

bool is_float_const(const Expr& e, double v, bool negative_zero = false) {
  auto x = float_value(e);
  return x && *x == v && std::signbit(*x) == negative_zero;
}

bool is_commutative(BinaryOp op) {
  return op == BinaryOp::Add || op == BinaryOp::Mul || op == BinaryOp::Min || op == BinaryOp::Max ||
         op == BinaryOp::EQ || op == BinaryOp::NE || op == BinaryOp::And || op == BinaryOp::Or;
}

/** The empty statement: nothing, or a Block of nothing. */
bool is_empty(const Stmt& s) {
  return !s.defined() || (s.as<Block>() && s.as<Block>()->stmts.empty());
}

bool allocates(const Stmt& s) {
  const Block* b = s.as<Block>();
  if (b == nullptr) {
    return false;
  }
  for (const Stmt& st : b->stmts) {
    if (st.as<Allocate>()) {
      return true;
    }
  }
  return false;
}

class Simplifier : public IRMutator {
public:
  /** Simplifies `op(a, b)` for already simplified operands. */
  Expr binary(BinaryOp op, Expr a, Expr b) {
    if (auto folded = fold_binary(op, a, b)) {
      return *folded;
    }
    if (is_commutative(op) && is_const(a) && !is_const(b)) {
      std::swap(a, b); // constants on the right
    }
    const bool integer = is_integer(a.type());
    Expr r;
    switch (op) {
    case BinaryOp::Add:
      r = integer ? add_int(a, b) : add_float(a, b);
      break;
    case BinaryOp::Sub:
      r = integer ? sub_int(a, b) : sub_float(a, b);
      break;
    case BinaryOp::Mul:
      r = integer ? mul_int(a, b) : (is_float_const(b, 1.0) ? a : Expr());
      break;
    case BinaryOp::Div:
      r = integer ? div_int(a, b) : (is_float_const(b, 1.0) ? a : Expr());
      break;
    case BinaryOp::Mod:
      r = integer ? mod_int(a, b) : Expr();
      break;
    case BinaryOp::Min:
    case BinaryOp::Max:
      r = min_max(op, a, b, integer);
      break;
    case BinaryOp::And:
    case BinaryOp::Or:
      r = logical(op, a, b);
      break;
    default:
      r = compare(op, a, b, integer);
      break;
    }
    return r.defined() ? r : Binary::make(op, a, b);
  }

protected:
  // ----------------------------------------------------------------------- expressions

  Expr mutate_var(const Var* op, const Expr& e) override {
    auto it = substitutions_.find(op);
    return it == substitutions_.end() ? e : it->second;
  }

  Expr mutate_float_imm(const FloatImm* op, const Expr& e) override {
    // bf16/f16/f32 immediates hold exactly the value the device will see.
    const double r = round_float(op->type, op->value);
    return r == op->value || std::isnan(r) ? e : FloatImm::make(op->type, r);
  }

  Expr mutate_binary(const Binary* op, const Expr& e) override {
    return binary(op->op, mutate(op->a), mutate(op->b));
  }

  Expr mutate_unary(const Unary* op, const Expr& e) override {
    Expr a = mutate(op->a);
    if (auto folded = fold_unary(op->op, a)) {
      return *folded;
    }
    if (const Unary* inner = a.as<Unary>(); inner && inner->op == op->op) {
      return inner->a; // --x and !!x
    }
    if (const Binary* cmp = a.as<Binary>();
        op->op == UnaryOp::Not && cmp && is_comparison(cmp->op) && is_integer(cmp->a.type())) {
      return binary(negate(cmp->op), cmp->a, cmp->b); // not for floats: NaN compares false
    }
    return a.same_as(op->a) ? e : Unary::make(op->op, a);
  }

  Expr mutate_select(const Select* op, const Expr& e) override {
    Expr c = mutate(op->cond), t = mutate(op->true_value), f = mutate(op->false_value);
    if (auto v = int_value(c)) {
      return *v ? t : f;
    }
    if (equal(t, f)) {
      return t;
    }
    if (c.same_as(op->cond) && t.same_as(op->true_value) && f.same_as(op->false_value)) {
      return e;
    }
    return Select::make(c, t, f);
  }

  Expr mutate_cast(const Cast* op, const Expr& e) override {
    Expr v = mutate(op->value);
    if (auto folded = fold_cast(op->type, v)) {
      return *folded;
    }
    if (const Cast* inner = v.as<Cast>(); inner && lossless_roundtrip(op->type, inner)) {
      return inner->value;
    }
    return v.same_as(op->value) ? e : Cast::make(op->type, v);
  }

  Expr mutate_call(const Call* op, const Expr& e) override {
    Expr r = IRMutator::mutate_call(op, e);
    const Call* call = r.as<Call>();
    if (call == nullptr) {
      return r;
    }
    if (auto folded = fold_call(call->op, call->args)) {
      return *folded;
    }
    return r;
  }

  // ----------------------------------------------------------------------- statements

  Stmt mutate_block(const Block* op, const Stmt& s) override {
    std::vector<Stmt> out;
    for (const Stmt& st : op->stmts) {
      Stmt m = mutate(st);
      if (is_empty(m)) {
        continue;
      }
      // A nested block that allocates keeps its own scope: splicing it would extend its
      // buffers' lifetimes (and shared memory use) to the end of this block.
      if (const Block* inner = m.as<Block>(); inner && !allocates(m) && inner->note.empty()) {
        out.insert(out.end(), inner->stmts.begin(), inner->stmts.end());
      } else {
        out.push_back(std::move(m));
      }
    }
    bool same = out.size() == op->stmts.size();
    for (std::size_t i = 0; same && i < out.size(); ++i) {
      same = out[i].same_as(op->stmts[i]);
    }
    if (same) {
      return s;
    }
    if (out.size() == 1 && !out[0].as<Allocate>() && op->note.empty()) {
      return out[0];
    }
    return Block::make(std::move(out), op->loc, op->note);
  }

  Stmt mutate_for(const For* op, const Stmt& s) override {
    Expr mn = mutate(op->min), ext = mutate(op->extent);
    const auto n = int_value(ext);
    if (n && *n <= 0) {
      return Stmt();
    }
    if (n && *n == 1) {
      // One iteration: the body with the variable replaced by the minimum.
      substitutions_[op->var.get()] = mn;
      Stmt body = mutate(op->body);
      substitutions_.erase(op->var.get());
      return body;
    }
    const bool nonneg = non_negative(mn);
    if (nonneg) {
      non_negative_vars_.insert(op->var.get());
    }
    Stmt body = mutate(op->body);
    non_negative_vars_.erase(op->var.get());
    if (is_empty(body)) {
      return Stmt();
    }
    if (mn.same_as(op->min) && ext.same_as(op->extent) && body.same_as(op->body)) {
      return s;
    }
    return For::make(op->var, mn, ext, op->for_kind, body, op->loc, op->stages, op->unroll);
  }

  Stmt mutate_parallel(const Parallel* op, const Stmt& s) override {
    for (const Expr& v : op->vars) {
      non_negative_vars_.insert(v.get());
    }
    Stmt body = mutate(op->body);
    for (const Expr& v : op->vars) {
      non_negative_vars_.erase(v.get());
    }
    if (is_empty(body)) {
      return Stmt();
    }
    return body.same_as(op->body) ? s
                                  : Parallel::make(op->vars, op->extents, body, op->loc, op->plan);
  }

  Stmt mutate_if(const IfThenElse* op, const Stmt& s) override {
    Expr c = mutate(op->cond);
    if (auto v = int_value(c)) {
      return mutate(*v ? op->then_case : op->else_case);
    }
    Stmt t = mutate(op->then_case), f = mutate(op->else_case);
    if (is_empty(t) && is_empty(f)) {
      return Stmt();
    }
    if (is_empty(t)) {
      Expr not_c = mutate(Unary::make(UnaryOp::Not, c));
      return IfThenElse::make(not_c, f, Stmt(), op->loc);
    }
    if (is_empty(f)) {
      f = Stmt();
    }
    if (c.same_as(op->cond) && t.same_as(op->then_case) && f.same_as(op->else_case)) {
      return s;
    }
    return IfThenElse::make(c, t, f, op->loc);
  }

  Stmt mutate_thread_range(const ThreadRange* op, const Stmt& s) override {
    Stmt body = mutate(op->body);
    if (is_empty(body)) {
      return Stmt();
    }
    return body.same_as(op->body) ? s : ThreadRange::make(op->begin, op->end, body, op->loc);
  }

private:
  // ----------------------------------------------------------------------- helpers

  static BinaryOp negate(BinaryOp op) {
    switch (op) {
    case BinaryOp::EQ:
      return BinaryOp::NE;
    case BinaryOp::NE:
      return BinaryOp::EQ;
    case BinaryOp::LT:
      return BinaryOp::GE;
    case BinaryOp::LE:
      return BinaryOp::GT;
    case BinaryOp::GT:
      return BinaryOp::LE;
    default:
      return BinaryOp::LT; // GE
    }
  }

  /** Cast(t, Cast(u, x)) with x of type t is x when u holds every value of t. */
  static bool lossless_roundtrip(DType t, const Cast* inner) {
    const DType u = inner->type;
    if (inner->value.type() != t) {
      return false;
    }
    if (is_integer(t) && is_integer(u)) {
      return dtype_size(u) >= dtype_size(t); // extend then truncate restores the bits
    }
    if (is_float(t) && is_float(u)) {
      return dtype_size(u) > dtype_size(t) && u != DType::bf16 && u != DType::f16;
    }
    return false;
  }

  /** Whether an integer expression is provably >= 0 (assuming no overflow). */
  bool non_negative(const Expr& e) const {
    if (!is_integer(e.type())) {
      return false;
    }
    if (!is_signed_integer(e.type())) {
      return true;
    }
    if (auto v = int_value(e)) {
      return *v >= 0;
    }
    if (const Var* v = e.as<Var>()) {
      return v->var_kind == VarKind::thread_idx || v->var_kind == VarKind::block_idx ||
             v->var_kind == VarKind::dim || non_negative_vars_.count(v);
    }
    if (const Binary* b = e.as<Binary>()) {
      switch (b->op) {
      case BinaryOp::Add:
      case BinaryOp::Mul:
      case BinaryOp::Div:
      case BinaryOp::Min:
        return non_negative(b->a) && non_negative(b->b);
      case BinaryOp::Mod:
        return non_negative(b->a); // the remainder takes the dividend's sign
      case BinaryOp::Max:
        return non_negative(b->a) || non_negative(b->b);
      default:
        return false;
      }
    }
    if (const Select* s = e.as<Select>()) {
      return non_negative(s->true_value) && non_negative(s->false_value);
    }
    if (const Cast* c = e.as<Cast>()) {
      return dtype_size(c->type) >= dtype_size(c->value.type()) && non_negative(c->value);
    }
    return false;
  }

  /** e == base + c, with c an immediate (0 when there is none). */
  static std::pair<Expr, std::int64_t> split_offset(const Expr& e) {
    if (const Binary* b = e.as<Binary>()) {
      if (auto c = int_value(b->b); c && b->op == BinaryOp::Add) {
        return {b->a, *c};
      }
      if (auto c = int_value(b->b); c && b->op == BinaryOp::Sub) {
        return {b->a, -*c};
      }
    }
    return {e, 0};
  }

  /** base + c, written base - |c| for negative c so that it reads naturally. */
  static Expr add_offset(const Expr& base, std::int64_t c) {
    const DType t = base.type();
    c = wrap_int(t, c);
    if (c == 0) {
      return base;
    }
    if (c < 0 && wrap_int(t, -c) > 0) {
      return Binary::make(BinaryOp::Sub, base, make_int(t, -c));
    }
    return Binary::make(BinaryOp::Add, base, make_int(t, c));
  }

  Expr add_int(const Expr& a, const Expr& b) {
    if (is_int_const(b, 0)) {
      return a;
    }
    if (auto c = int_value(b); c && is_signed_integer(a.type())) {
      auto [base, offset] = split_offset(a);
      return add_offset(base, offset + *c); // (x + 2) + 3 -> x + 5, (x - 2) + 2 -> x
    }
    return Expr();
  }

  Expr add_float(const Expr& a, const Expr& b) {
    // x + -0.0 is x for every x; x + 0.0 is not (it turns -0.0 into 0.0).
    return is_float_const(b, 0.0, true) ? a : Expr();
  }

  Expr sub_int(const Expr& a, const Expr& b) {
    if (is_int_const(b, 0)) {
      return a;
    }
    if (equal(a, b)) {
      return make_int(a.type(), 0);
    }
    if (auto c = int_value(b); c && is_signed_integer(a.type())) {
      auto [base, offset] = split_offset(a);
      return add_offset(base, offset - *c);
    }
    if (const Binary* sum = a.as<Binary>(); sum && sum->op == BinaryOp::Add) {
      if (equal(sum->a, b)) {
        return sum->b; // (x + y) - x
      }
      if (equal(sum->b, b)) {
        return sum->a; // (x + y) - y
      }
    }
    return Expr();
  }

  Expr sub_float(const Expr& a, const Expr& b) {
    return is_float_const(b, 0.0) ? a : Expr(); // x - 0.0 is x, even for -0.0
  }

  Expr mul_int(const Expr& a, const Expr& b) {
    if (is_int_const(b, 1)) {
      return a;
    }
    if (is_int_const(b, 0)) {
      return b; // expressions have no side effects
    }
    const Binary* inner = a.as<Binary>();
    if (auto c2 = int_value(b); c2 && inner && inner->op == BinaryOp::Mul) {
      if (auto c1 = int_value(inner->b)) {
        return binary(BinaryOp::Mul, inner->a, make_int(a.type(), *c1 * *c2));
      }
    }
    return Expr();
  }

  /** x * k as (x, k) when the multiplier is an immediate. */
  static std::optional<std::pair<Expr, std::int64_t>> as_scaled(const Expr& e) {
    const Binary* m = e.as<Binary>();
    if (m == nullptr || m->op != BinaryOp::Mul) {
      return std::nullopt;
    }
    auto k = int_value(m->b);
    return k ? std::optional(std::pair{m->a, *k}) : std::nullopt;
  }

  /** Integer division by a positive constant, with C truncation: rewrites that need
   *  non-negative operands check them. */
  Expr div_int(const Expr& a, const Expr& b) {
    if (is_int_const(b, 1)) {
      return a;
    }
    auto c = int_value(b);
    if (!c || *c <= 0) {
      return Expr();
    }
    const DType t = a.type();
    // (x * (k*c)) / c -> x * k: exact for every x.
    if (auto s = as_scaled(a); s && s->second % *c == 0) {
      return binary(BinaryOp::Mul, s->first, make_int(t, s->second / *c));
    }
    const Binary* op = a.as<Binary>();
    if (op == nullptr) {
      return Expr();
    }
    // (x * (k*c) + y) / c -> x * k + y / c needs both terms >= 0: with C truncation
    // (1 * 4 + -1) / 4 is 0, but 1 + -1 / 4 is 1.
    if (op->op == BinaryOp::Add) {
      for (auto [scaled, rest] : {std::pair{op->a, op->b}, std::pair{op->b, op->a}}) {
        auto s = as_scaled(scaled);
        if (s && s->second % *c == 0 && non_negative(scaled) && non_negative(rest)) {
          return binary(BinaryOp::Add, binary(BinaryOp::Mul, s->first, make_int(t, s->second / *c)),
                        binary(BinaryOp::Div, rest, b));
        }
      }
      // (x + k*c) / c -> x / c + k, same sign condition.
      if (auto k = int_value(op->b); k && *k % *c == 0 && *k >= 0 && non_negative(op->a)) {
        return binary(BinaryOp::Add, binary(BinaryOp::Div, op->a, b), make_int(t, *k / *c));
      }
    }
    // (x / c1) / c -> x / (c1 * c) for positive divisors (truncation composes).
    if (auto c1 = int_value(op->b);
        c1 && op->op == BinaryOp::Div && *c1 > 0 && *c1 <= (1ll << 31) && *c <= (1ll << 31)) {
      const std::int64_t d = *c1 * *c;
      if (wrap_int(t, d) == d) {
        return binary(BinaryOp::Div, op->a, make_int(t, d));
      }
    }
    // (x % c1) / c -> 0 when c1 <= c: |x % c1| < c1.
    if (auto c1 = int_value(op->b); c1 && op->op == BinaryOp::Mod && *c1 > 0 && *c1 <= *c) {
      return make_int(t, 0);
    }
    return Expr();
  }

  Expr mod_int(const Expr& a, const Expr& b) {
    auto c = int_value(b);
    if (!c) {
      return Expr();
    }
    const DType t = a.type();
    if (*c == 1 || (*c == -1 && is_signed_integer(t))) {
      return make_int(t, 0);
    }
    if (*c <= 0) {
      return Expr();
    }
    // (x * (k*c)) % c -> 0.
    if (auto s = as_scaled(a); s && s->second % *c == 0) {
      return make_int(t, 0);
    }
    const Binary* op = a.as<Binary>();
    if (op == nullptr) {
      return Expr();
    }
    // (x * (k*c) + y) % c -> y % c when both terms are >= 0.
    if (op->op == BinaryOp::Add) {
      for (auto [scaled, rest] : {std::pair{op->a, op->b}, std::pair{op->b, op->a}}) {
        auto s = as_scaled(scaled);
        if (s && s->second % *c == 0 && non_negative(scaled) && non_negative(rest)) {
          return binary(BinaryOp::Mod, rest, b);
        }
      }
      if (auto k = int_value(op->b); k && *k % *c == 0 && *k >= 0 && non_negative(op->a)) {
        return binary(BinaryOp::Mod, op->a, b);
      }
    }
    // (x % (k*c)) % c -> x % c: both remainders take x's sign and agree modulo c.
    if (auto c1 = int_value(op->b); c1 && op->op == BinaryOp::Mod && *c1 > 0 && *c1 % *c == 0) {
      return binary(BinaryOp::Mod, op->a, b);
    }
    return Expr();
  }

  Expr min_max(BinaryOp op, const Expr& a, const Expr& b, bool integer) {
    if (equal(a, b)) {
      return a;
    }
    if (!integer) {
      return Expr();
    }
    // min(min(x, c1), c2) -> min(x, min(c1, c2)).
    const Binary* inner = a.as<Binary>();
    if (inner && inner->op == op && is_const(inner->b) && is_const(b)) {
      return binary(op, inner->a, binary(op, inner->b, b));
    }
    // max(x, c) with c <= 0 and x >= 0 is x; min(x, c) likewise is c.
    if (auto c = int_value(b); c && *c <= 0 && non_negative(a)) {
      return op == BinaryOp::Max ? a : b;
    }
    return Expr();
  }

  static Expr logical(BinaryOp op, const Expr& a, const Expr& b) {
    if (equal(a, b)) {
      return a;
    }
    auto c = int_value(b); // constants are on the right
    if (!c) {
      return Expr();
    }
    if (op == BinaryOp::And) {
      return *c ? a : b; // x && true, x && false
    }
    return *c ? b : a; // x || true, x || false
  }

  Expr compare(BinaryOp op, const Expr& a, const Expr& b, bool integer) {
    if (!integer) {
      return Expr(); // NaN != NaN: x == x is not true for floats
    }
    if (equal(a, b)) {
      return make_bool(op == BinaryOp::EQ || op == BinaryOp::LE || op == BinaryOp::GE);
    }
    // x >= c and x < c for x >= 0 and c <= 0 (bounds checks on indices).
    if (auto c = int_value(b); c && *c <= 0 && non_negative(a)) {
      if (op == BinaryOp::GE) {
        return make_bool(true);
      }
      if (op == BinaryOp::LT) {
        return make_bool(false);
      }
    }
    return Expr();
  }

  std::unordered_map<const ExprNode*, Expr> substitutions_;
  std::unordered_set<const ExprNode*> non_negative_vars_;
};

} // namespace

Expr simplify(const Expr& e) {
  Simplifier s;
  return s.mutate(e);
}

Stmt simplify(const Stmt& s) {
  Simplifier simplifier;
  Stmt r = simplifier.mutate(s);
  const SourceLoc loc = s.defined() ? s->loc : SourceLoc{};
  if (!r.defined()) {
    return Block::make({}, loc);
  }
  // A block stays a block (a kernel body keeps its shape), even when one statement remains.
  return s.as<Block>() && !r.as<Block>() ? Block::make({r}, loc) : r;
}

} // namespace tessera::ir
