#include "ir/util.h"

#include "ir/visitor.h"

#include <numeric>

namespace tessera::ir {

namespace {

class LoadFinder : public IRVisitor {
public:
  explicit LoadFinder(const std::function<void(const Load*)>& fn) : fn_(fn) {}
  using IRVisitor::visit;

protected:
  void visit_load(const Load* op) override {
    fn_(op);
    IRVisitor::visit_load(op);
  }

private:
  const std::function<void(const Load*)>& fn_;
};

class AccessFinder : public IRVisitor {
public:
  using Fn = std::function<void(const Buffer&, const std::vector<Expr>&, bool)>;
  explicit AccessFinder(const Fn& fn) : fn_(fn) {}
  using IRVisitor::visit;

protected:
  void visit_load(const Load* op) override {
    fn_(op->buffer, op->indices, false);
    IRVisitor::visit_load(op);
  }
  void visit_store(const Store* op) override {
    fn_(op->buffer, op->indices, true);
    IRVisitor::visit_store(op);
  }

private:
  const Fn& fn_;
};

class BufferReplacer : public IRMutator {
public:
  BufferReplacer(Buffer from, Buffer to) : from_(std::move(from)), to_(std::move(to)) {}

protected:
  Expr mutate_load(const Load* op, const Expr& e) override {
    Expr m = IRMutator::mutate_load(op, e);
    const Load* l = m.as<Load>();
    if (l->buffer == from_) {
      return Load::make(to_, l->indices);
    }
    return m;
  }

private:
  Buffer from_, to_;
};

} // namespace

void for_each_load(const Expr& e, const std::function<void(const Load*)>& fn) {
  LoadFinder f(fn);
  f.visit(e);
}

void for_each_own_load(const Stmt& s, const std::function<void(const Load*)>& fn) {
  auto region = [&](const Region& r) {
    for (const Range& range : r.ranges) {
      for_each_load(range.start, fn);
    }
  };
  switch (s.kind()) {
  case StmtKind::For:
    for_each_load(s.as<For>()->min, fn);
    for_each_load(s.as<For>()->extent, fn);
    return;
  case StmtKind::IfThenElse:
    for_each_load(s.as<IfThenElse>()->cond, fn);
    return;
  case StmtKind::Store: {
    const Store* op = s.as<Store>();
    for (const Expr& i : op->indices) {
      for_each_load(i, fn);
    }
    for_each_load(op->value, fn);
    return;
  }
  case StmtKind::Atomic: {
    const Atomic* op = s.as<Atomic>();
    for (const Expr& i : op->indices) {
      for_each_load(i, fn);
    }
    for_each_load(op->value, fn);
    return;
  }
  case StmtKind::TileOp: {
    const TileOp* op = s.as<TileOp>();
    for (const Operand& o : op->operands()) {
      region(o.region);
    }
    for (const Expr& a : op->args()) {
      for_each_load(a, fn);
    }
    return;
  }
  default:
    return;
  }
}

void for_each_access(const Stmt& s,
                     const std::function<void(const Buffer&, const std::vector<Expr>&, bool)>& fn) {
  AccessFinder f(fn);
  f.visit(s);
}

Expr replace_buffer(const Expr& e, const Buffer& from, const Buffer& to) {
  BufferReplacer r(from, to);
  return r.mutate(e);
}

Stmt replace_buffer(const Stmt& s, const Buffer& from, const Buffer& to) {
  BufferReplacer r(from, to);
  return r.mutate(s);
}

Stmt replace_buffer_own(const Stmt& s, const Buffer& from, const Buffer& to) {
  auto rep = [&](const Expr& e) { return replace_buffer(e, from, to); };
  auto region = [&](Region r) {
    for (Range& range : r.ranges) {
      range.start = rep(range.start);
    }
    return r;
  };
  switch (s.kind()) {
  case StmtKind::For: {
    const For* op = s.as<For>();
    return For::make(op->var, rep(op->min), rep(op->extent), op->for_kind, op->body, op->loc,
                     op->stages, op->unroll);
  }
  case StmtKind::IfThenElse: {
    const IfThenElse* op = s.as<IfThenElse>();
    return IfThenElse::make(rep(op->cond), op->then_case, op->else_case, op->loc);
  }
  case StmtKind::TileOp: {
    const TileOp* op = s.as<TileOp>();
    std::vector<Region> regions;
    for (const Operand& o : op->operands()) {
      regions.push_back(region(o.region));
    }
    std::vector<Expr> args;
    for (const Expr& a : op->args()) {
      args.push_back(rep(a));
    }
    return op->rebuild(std::move(regions), std::move(args));
  }
  default:
    return replace_buffer(s, from, to); // leaf statements: own expressions are everything
  }
}

std::optional<std::int64_t> const_int(const Expr& e) {
  if (!e.defined()) {
    return std::nullopt;
  }
  if (const IntImm* imm = e.as<IntImm>()) {
    return imm->value;
  }
  if (const Cast* c = e.as<Cast>(); c && is_integer(c->type) && is_integer(c->value.type())) {
    return const_int(c->value);
  }
  if (const Binary* b = e.as<Binary>()) {
    auto x = const_int(b->a), y = const_int(b->b);
    if (!x || !y) {
      return std::nullopt;
    }
    switch (b->op) {
    case BinaryOp::Add:
      return *x + *y;
    case BinaryOp::Sub:
      return *x - *y;
    case BinaryOp::Mul:
      return *x * *y;
    case BinaryOp::Div:
      return *y ? std::optional<std::int64_t>(*x / *y) : std::nullopt;
    case BinaryOp::Mod:
      return *y ? std::optional<std::int64_t>(*x % *y) : std::nullopt;
    case BinaryOp::Min:
      return std::min(*x, *y);
    case BinaryOp::Max:
      return std::max(*x, *y);
    default:
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::int64_t known_multiple(const Expr& e) {
  constexpr std::int64_t kCap = std::int64_t(1) << 20;
  if (auto c = const_int(e)) {
    if (*c == 0) {
      return kCap;
    }
    std::int64_t v = *c < 0 ? -*c : *c;
    return std::min<std::int64_t>(v & -v, kCap);
  }
  if (const Cast* c = e.as<Cast>(); c && is_integer(c->type) && is_integer(c->value.type())) {
    return known_multiple(c->value);
  }
  if (const Binary* b = e.as<Binary>()) {
    switch (b->op) {
    case BinaryOp::Add:
    case BinaryOp::Sub:
      return std::min(known_multiple(b->a), known_multiple(b->b));
    case BinaryOp::Mul:
      return std::min(known_multiple(b->a) * known_multiple(b->b), kCap);
    default:
      return 1;
    }
  }
  return 1;
}

bool same_var(const Expr& a, const Expr& b) {
  if (a.same_as(b)) {
    return true;
  }
  const Var* x = a.as<Var>();
  const Var* y = b.as<Var>();
  return x && y && x->name == y->name && x->var_kind == y->var_kind;
}

std::vector<std::int64_t> const_shape(const Buffer& b) {
  std::vector<std::int64_t> s;
  for (std::size_t d = 0; d < b->shape.size(); ++d) {
    s.push_back(const_extent(b, static_cast<int>(d)));
  }
  return s;
}

Expr i32(std::int64_t v) {
  return IntImm::make(DType::i32, v);
}

namespace {
std::optional<std::int64_t> imm(const Expr& e) {
  if (const IntImm* i = e.as<IntImm>()) {
    return i->value;
  }
  return std::nullopt;
}
} // namespace

Expr add(const Expr& a, const Expr& b) {
  const auto x = imm(a), y = imm(b);
  if (x && y) {
    return i32(*x + *y);
  }
  if (x && *x == 0) {
    return b;
  }
  if (y && *y == 0) {
    return a;
  }
  return Binary::make(BinaryOp::Add, a, b);
}

Expr sub(const Expr& a, const Expr& b) {
  const auto x = imm(a), y = imm(b);
  if (x && y) {
    return i32(*x - *y);
  }
  if (y && *y == 0) {
    return a;
  }
  return Binary::make(BinaryOp::Sub, a, b);
}

Expr mul(const Expr& a, const Expr& b) {
  const auto x = imm(a), y = imm(b);
  if (x && y) {
    return i32(*x * *y);
  }
  if ((x && *x == 0) || (y && *y == 0)) {
    return i32(0);
  }
  if (x && *x == 1) {
    return b;
  }
  if (y && *y == 1) {
    return a;
  }
  return Binary::make(BinaryOp::Mul, a, b);
}

Expr div(const Expr& a, const Expr& b) {
  const auto x = imm(a), y = imm(b);
  if (x && y && *y != 0) {
    return i32(*x / *y);
  }
  if ((y && *y == 1) || (x && *x == 0)) {
    return a;
  }
  return Binary::make(BinaryOp::Div, a, b);
}

Expr mod(const Expr& a, const Expr& b) {
  const auto x = imm(a), y = imm(b);
  if (x && y && *y != 0) {
    return i32(*x % *y);
  }
  if ((y && *y == 1) || (x && *x == 0)) {
    return i32(0);
  }
  return Binary::make(BinaryOp::Mod, a, b);
}

Expr lt(const Expr& a, const Expr& b) {
  return Binary::make(BinaryOp::LT, a, b);
}

Expr le(const Expr& a, const Expr& b) {
  return Binary::make(BinaryOp::LE, a, b);
}

Expr eq(const Expr& a, const Expr& b) {
  return Binary::make(BinaryOp::EQ, a, b);
}

Expr land(const Expr& a, const Expr& b) {
  if (!a.defined()) {
    return b;
  }
  if (!b.defined()) {
    return a;
  }
  return Binary::make(BinaryOp::And, a, b);
}

Expr int_var(const std::string& name) {
  return Var::make(DType::i32, name, VarKind::loop);
}

Buffer temp_buffer(std::string name, DType dtype, std::vector<std::int64_t> shape, Scope scope) {
  auto b = std::make_shared<BufferNode>();
  b->name = std::move(name);
  b->dtype = dtype;
  for (std::int64_t e : shape) {
    b->shape.push_back(i32(e));
  }
  b->scope = scope;
  b->writable = true;
  b->internal = true;
  return b;
}

Expr linear_index(const std::vector<Expr>& index, const std::vector<std::int64_t>& shape) {
  Expr acc = i32(0);
  for (std::size_t d = 0; d < index.size(); ++d) {
    acc = add(mul(acc, i32(shape.at(d))), index[d]);
  }
  return acc;
}

} // namespace tessera::ir
