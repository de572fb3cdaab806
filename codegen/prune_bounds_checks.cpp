#include "codegen/prune_bounds_checks.h"

#include "ir/equal.h"
#include "ir/simplify_fold.h"
#include "ir/visitor.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <unordered_map>

namespace tessera::codegen {

using namespace tessera::ir;

namespace {

// Bounds past ±2^62 are treated as unknown, so no product or sum of two known bounds overflows.
constexpr std::int64_t kHuge = std::int64_t{1} << 62;

/** A closed integer interval; an unset end is unbounded. */
struct Interval {
  std::optional<std::int64_t> lo, hi;
};

std::optional<std::int64_t> checked(__int128 v) {
  if (v > kHuge || v < -kHuge) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(v);
}

std::optional<std::int64_t> plus(std::optional<std::int64_t> a, std::optional<std::int64_t> b) {
  if (!a || !b) {
    return std::nullopt;
  }
  return checked(static_cast<__int128>(*a) + *b);
}

std::optional<std::int64_t> const_int(const Expr& e) {
  if (const auto* i = e.as<IntImm>()) {
    return i->value;
  }
  return std::nullopt;
}

class Pruner : public IRMutator {
public:
  explicit Pruner(const Kernel& k) : kernel_(k) {}

protected:
  Expr mutate_binary(const Binary* op, const Expr& e) override {
    Expr m = IRMutator::mutate_binary(op, e);
    const auto* b = m.as<Binary>();
    if (b == nullptr) {
      return m;
    }
    if (b->op == BinaryOp::And) {
      if (auto c = const_bool(b->a)) {
        return *c ? b->b : b->a;
      }
      if (auto c = const_bool(b->b)) {
        return *c ? b->a : b->b;
      }
      return m;
    }
    if (auto v = decide(b)) {
      return internal::make_bool(*v);
    }
    return m;
  }

  Expr mutate_select(const Select* op, const Expr& e) override {
    Expr m = IRMutator::mutate_select(op, e);
    if (const auto* s = m.as<Select>()) {
      if (auto c = const_bool(s->cond)) {
        return *c ? s->true_value : s->false_value;
      }
    }
    return m;
  }

  Stmt mutate_if(const IfThenElse* op, const Stmt& s) override {
    const Expr c = mutate(op->cond);
    if (auto v = const_bool(c)) {
      if (*v) {
        return mutate(op->then_case);
      }
      return op->else_case.defined() ? mutate(op->else_case) : Block::make({}, op->loc);
    }
    Stmt t = mutate(op->then_case);
    Stmt f = op->else_case.defined() ? mutate(op->else_case) : op->else_case;
    if (c.same_as(op->cond) && t.same_as(op->then_case) && f.same_as(op->else_case)) {
      return s;
    }
    return IfThenElse::make(c, t, f, op->loc);
  }

  Stmt mutate_for(const For* op, const Stmt& s) override {
    // A constant start and a bounded trip count (a split's block count, say) bound the variable.
    const auto mn = const_int(op->min);
    const Interval ext = interval(op->extent);
    if (mn && ext.hi && *ext.hi > 0) {
      return scoped(op->var, Interval{*mn, *mn + *ext.hi - 1},
                    [&] { return IRMutator::mutate_for(op, s); });
    }
    return IRMutator::mutate_for(op, s);
  }

  Stmt mutate_parallel(const Parallel* op, const Stmt& s) override {
    for (std::size_t i = 0; i < op->vars.size(); ++i) {
      scope_[op->vars[i].get()] = Interval{0, op->extents[i] - 1};
    }
    Stmt r = IRMutator::mutate_parallel(op, s);
    for (const Expr& v : op->vars) {
      scope_.erase(v.get());
    }
    return r;
  }

  Stmt mutate_let(const LetStmt* op, const Stmt& s) override {
    if (!is_int(op->value.type())) {
      return IRMutator::mutate_let(op, s);
    }
    const Interval range = interval(op->value);
    return scoped(op->var, range, [&] { return IRMutator::mutate_let(op, s); });
  }

private:
  template <typename F> Stmt scoped(const Expr& var, Interval range, F&& body) {
    const ExprNode* key = var.get();
    auto old = scope_.find(key);
    std::optional<Interval> saved;
    if (old != scope_.end()) {
      saved = old->second;
    }
    scope_[key] = range;
    Stmt r = body();
    if (saved) {
      scope_[key] = *saved;
    } else {
      scope_.erase(key);
    }
    return r;
  }

  static std::optional<bool> const_bool(const Expr& e) {
    if (const auto* i = e.as<IntImm>(); i != nullptr && e.type() == DType::boolean) {
      return i->value != 0;
    }
    return std::nullopt;
  }

  static bool is_int(DType t) { return t == DType::i32 || t == DType::i64; }

  /** The value of an integer comparison, where every thread of every block agrees on it. */
  std::optional<bool> decide(const Binary* b) const {
    if (!is_int(b->a.type()) || !is_int(b->b.type())) {
      return std::nullopt;
    }
    switch (b->op) {
    case BinaryOp::LT:
      return less(b->a, b->b, false);
    case BinaryOp::LE:
      return less(b->a, b->b, true);
    case BinaryOp::GT:
      return less(b->b, b->a, false);
    case BinaryOp::GE:
      return less(b->b, b->a, true);
    default:
      return std::nullopt;
    }
  }

  /** a < b (or a <= b with `or_equal`) decided, if it can be. */
  std::optional<bool> less(const Expr& a, const Expr& b, bool or_equal) const {
    if (!or_equal) {
      if (const auto* v = a.as<Var>(); v != nullptr && v->var_kind == VarKind::block_idx &&
                                       v->axis < static_cast<int>(kernel_.grid.size()) &&
                                       equal(b, kernel_.grid[v->axis])) {
        return true; // block_idx(a) < grid[a]
      }
    }
    const Interval x = interval(a), y = interval(b);
    const std::int64_t slack = or_equal ? 0 : 1;
    if (x.hi && y.lo && *x.hi + slack <= *y.lo) {
      return true;
    }
    if (x.lo && y.hi && *x.lo + slack > *y.hi) {
      return false;
    }
    return std::nullopt;
  }

  /** The interval of `e`; an i32 sum, product, ... that may leave the i32 range could wrap, so
   *  it is unknown unless both ends are known and inside the range. */
  Interval interval(const Expr& e) const {
    Interval r = interval_unchecked(e);
    if (e.type() == DType::i32 && e.as<Binary>() != nullptr) {
      constexpr std::int64_t lo = std::numeric_limits<std::int32_t>::min();
      constexpr std::int64_t hi = std::numeric_limits<std::int32_t>::max();
      if (!r.lo || !r.hi || *r.lo < lo || *r.hi > hi) {
        return {};
      }
    }
    return r;
  }

  Interval interval_unchecked(const Expr& e) const {
    if (auto c = const_int(e)) {
      return {*c, *c};
    }
    if (const auto* v = e.as<Var>()) {
      return var_interval(v);
    }
    if (const auto* c = e.as<Cast>()) {
      const DType from = c->value.type();
      if (is_int(from) && is_int(c->type) &&
          dtype_size(c->type) >= dtype_size(from)) { // widening: the value is unchanged
        return interval(c->value);
      }
      return {};
    }
    if (const auto* sel = e.as<Select>()) { // either arm: the hull of both
      const Interval t = interval(sel->true_value), f = interval(sel->false_value);
      return {t.lo && f.lo ? std::optional<std::int64_t>(std::min(*t.lo, *f.lo)) : std::nullopt,
              t.hi && f.hi ? std::optional<std::int64_t>(std::max(*t.hi, *f.hi)) : std::nullopt};
    }
    const auto* b = e.as<Binary>();
    if (b == nullptr) {
      return {};
    }
    const Interval x = interval(b->a), y = interval(b->b);
    switch (b->op) {
    case BinaryOp::Add:
      return {plus(x.lo, y.lo), plus(x.hi, y.hi)};
    case BinaryOp::Sub: {
      auto neg = [](std::optional<std::int64_t> v) -> std::optional<std::int64_t> {
        return v ? std::optional<std::int64_t>(-*v) : std::nullopt;
      };
      return {plus(x.lo, neg(y.hi)), plus(x.hi, neg(y.lo))};
    }
    case BinaryOp::Mul: {
      if (!x.lo || !x.hi || !y.lo || !y.hi) {
        // A non-negative value times a non-negative constant keeps its lower bound at 0.
        const auto c = const_int(b->b);
        if (c && *c >= 0 && x.lo && *x.lo >= 0) {
          return {0, x.hi ? checked(static_cast<__int128>(*x.hi) * *c) : std::nullopt};
        }
        return {};
      }
      std::optional<std::int64_t> lo, hi;
      for (std::int64_t p : {*x.lo, *x.hi}) {
        for (std::int64_t q : {*y.lo, *y.hi}) {
          auto r = checked(static_cast<__int128>(p) * q);
          if (!r) {
            return {};
          }
          lo = lo ? std::min(*lo, *r) : *r;
          hi = hi ? std::max(*hi, *r) : *r;
        }
      }
      return {lo, hi};
    }
    case BinaryOp::Div: {
      const auto c = const_int(b->b);
      if (!c || *c <= 0 || !x.lo || *x.lo < 0) {
        return {};
      }
      return {*x.lo / *c, x.hi ? std::optional<std::int64_t>(*x.hi / *c) : std::nullopt};
    }
    case BinaryOp::Mod: {
      const auto c = const_int(b->b);
      if (!c || *c <= 0 || !x.lo || *x.lo < 0) {
        return {};
      }
      return {0, *c - 1};
    }
    case BinaryOp::Min:
      return {x.lo && y.lo ? std::optional<std::int64_t>(std::min(*x.lo, *y.lo)) : std::nullopt,
              x.hi   ? (y.hi ? std::optional<std::int64_t>(std::min(*x.hi, *y.hi)) : x.hi)
              : y.hi ? y.hi
                     : std::nullopt};
    case BinaryOp::Max:
      return {x.lo   ? (y.lo ? std::optional<std::int64_t>(std::max(*x.lo, *y.lo)) : x.lo)
              : y.lo ? y.lo
                     : std::nullopt,
              x.hi && y.hi ? std::optional<std::int64_t>(std::max(*x.hi, *y.hi)) : std::nullopt};
    default:
      return {};
    }
  }

  Interval var_interval(const Var* v) const {
    if (auto it = scope_.find(v); it != scope_.end()) {
      return it->second;
    }
    switch (v->var_kind) {
    case VarKind::thread_idx:
      return {0, kernel_.threads - 1};
    case VarKind::block_idx:
      if (v->axis < static_cast<int>(kernel_.grid.size())) {
        if (auto g = const_int(kernel_.grid[v->axis]); g && *g > 0) {
          return {0, *g - 1};
        }
      }
      return {0, std::nullopt};
    case VarKind::dim:
      return {0, std::nullopt}; // tensor extents
    default:
      return {};
    }
  }

  const Kernel& kernel_;
  std::unordered_map<const ExprNode*, Interval> scope_;
};

} // namespace

Kernel prune_bounds_checks(Kernel kernel) {
  Pruner p(kernel);
  kernel.body = p.mutate(kernel.body);
  return kernel;
}

} // namespace tessera::codegen
