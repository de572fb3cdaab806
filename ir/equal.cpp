#include "ir/equal.h"

#include "base/error.h"
#include "ir/layout.h"

#include <bit>
#include <cstdint>
#include <functional>

namespace tessera::ir {

namespace {

// ---------------------------------------------------------------------------------------------
// Equality
// ---------------------------------------------------------------------------------------------

bool equal_all(const std::vector<Expr>& a, const std::vector<Expr>& b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!equal(a[i], b[i])) {
      return false;
    }
  }
  return true;
}

bool equal_region(const Region& a, const Region& b) {
  if (a.buffer != b.buffer || a.ranges.size() != b.ranges.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.ranges.size(); ++i) {
    const Range &x = a.ranges[i], &y = b.ranges[i];
    if (x.extent != y.extent || x.squeezed != y.squeezed || !equal(x.start, y.start)) {
      return false;
    }
  }
  return true;
}

bool equal_node(const Expr& ea, const Expr& eb) {
  switch (ea.kind()) {
  case ExprKind::IntImm:
    return ea.as<IntImm>()->value == eb.as<IntImm>()->value;
  case ExprKind::FloatImm:
    return std::bit_cast<std::uint64_t>(ea.as<FloatImm>()->value) ==
           std::bit_cast<std::uint64_t>(eb.as<FloatImm>()->value);
  case ExprKind::Var: {
    const Var *a = ea.as<Var>(), *b = eb.as<Var>();
    return a->name == b->name && a->var_kind == b->var_kind && a->axis == b->axis;
  }
  case ExprKind::Binary: {
    const Binary *a = ea.as<Binary>(), *b = eb.as<Binary>();
    return a->op == b->op && equal(a->a, b->a) && equal(a->b, b->b);
  }
  case ExprKind::Unary: {
    const Unary *a = ea.as<Unary>(), *b = eb.as<Unary>();
    return a->op == b->op && equal(a->a, b->a);
  }
  case ExprKind::Select: {
    const Select *a = ea.as<Select>(), *b = eb.as<Select>();
    return equal(a->cond, b->cond) && equal(a->true_value, b->true_value) &&
           equal(a->false_value, b->false_value);
  }
  case ExprKind::Cast:
    return equal(ea.as<Cast>()->value, eb.as<Cast>()->value);
  case ExprKind::Call: {
    const Call *a = ea.as<Call>(), *b = eb.as<Call>();
    return a->op == b->op && equal_all(a->args, b->args);
  }
  case ExprKind::Load: {
    const Load *a = ea.as<Load>(), *b = eb.as<Load>();
    return a->buffer == b->buffer && equal_all(a->indices, b->indices);
  }
  }
  throw InternalError("ir::equal: unknown expression kind");
}

bool equal_node(const Stmt& sa, const Stmt& sb) {
  switch (sa.kind()) {
  case StmtKind::Block: {
    const auto &a = sa.as<Block>()->stmts, &b = sb.as<Block>()->stmts;
    if (a.size() != b.size()) {
      return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!equal(a[i], b[i])) {
        return false;
      }
    }
    return true;
  }
  case StmtKind::Allocate: {
    const Allocate *a = sa.as<Allocate>(), *b = sb.as<Allocate>();
    return a->buffer == b->buffer && a->offset == b->offset &&
           (a->layout ? a->layout->str() : "") == (b->layout ? b->layout->str() : "");
  }
  case StmtKind::For: {
    const For *a = sa.as<For>(), *b = sb.as<For>();
    return a->for_kind == b->for_kind && a->stages == b->stages && a->unroll == b->unroll &&
           equal(a->var, b->var) && equal(a->min, b->min) && equal(a->extent, b->extent) &&
           equal(a->body, b->body);
  }
  case StmtKind::Parallel: {
    const Parallel *a = sa.as<Parallel>(), *b = sb.as<Parallel>();
    return a->extents == b->extents && equal_all(a->vars, b->vars) && equal(a->body, b->body) &&
           (a->plan ? a->plan->str() : "") == (b->plan ? b->plan->str() : "");
  }
  case StmtKind::IfThenElse: {
    const IfThenElse *a = sa.as<IfThenElse>(), *b = sb.as<IfThenElse>();
    return equal(a->cond, b->cond) && equal(a->then_case, b->then_case) &&
           equal(a->else_case, b->else_case);
  }
  case StmtKind::Store: {
    const Store *a = sa.as<Store>(), *b = sb.as<Store>();
    return a->buffer == b->buffer && equal_all(a->indices, b->indices) && equal(a->value, b->value);
  }
  case StmtKind::TileOp: {
    const TileOp *a = sa.as<TileOp>(), *b = sb.as<TileOp>();
    const std::vector<Operand> oa = a->operands(), ob = b->operands();
    if (a->op_name() != b->op_name() || a->attrs() != b->attrs() || oa.size() != ob.size() ||
        !equal_all(a->args(), b->args())) {
      return false;
    }
    for (std::size_t i = 0; i < oa.size(); ++i) {
      if (oa[i].access != ob[i].access || !equal_region(oa[i].region, ob[i].region)) {
        return false;
      }
    }
    return true;
  }
  case StmtKind::Atomic: {
    const Atomic *a = sa.as<Atomic>(), *b = sb.as<Atomic>();
    return a->op == b->op && a->buffer == b->buffer && equal_all(a->indices, b->indices) &&
           equal(a->value, b->value);
  }
  case StmtKind::ThreadRange: {
    const ThreadRange *a = sa.as<ThreadRange>(), *b = sb.as<ThreadRange>();
    return a->begin == b->begin && a->end == b->end && equal(a->body, b->body);
  }
  case StmtKind::LetStmt: {
    const LetStmt *a = sa.as<LetStmt>(), *b = sb.as<LetStmt>();
    return equal(a->var, b->var) && equal(a->value, b->value) && equal(a->body, b->body);
  }
  case StmtKind::VectorCopy: {
    const VectorCopy *a = sa.as<VectorCopy>(), *b = sb.as<VectorCopy>();
    return a->dst == b->dst && a->src == b->src && a->lanes == b->lanes && a->async == b->async &&
           equal_all(a->dst_index, b->dst_index) && equal_all(a->src_index, b->src_index);
  }
  case StmtKind::AsyncWait:
    return sa.as<AsyncWait>()->pending == sb.as<AsyncWait>()->pending;
  case StmtKind::MmaTile: {
    const MmaTile *a = sa.as<MmaTile>(), *b = sb.as<MmaTile>();
    return a->path == b->path && a->m == b->m && a->n == b->n && a->k == b->k && a->lda == b->lda &&
           a->ldb == b->ldb && a->warps_m == b->warps_m && a->warps_n == b->warps_n &&
           a->trans_a == b->trans_a && a->trans_b == b->trans_b && a->a == b->a && a->b == b->b &&
           a->acc == b->acc && equal(a->tid, b->tid);
  }
  case StmtKind::Barrier:
    return sa.as<Barrier>()->scope == sb.as<Barrier>()->scope;
  case StmtKind::PdlWait:
  case StmtKind::PdlTrigger:
  case StmtKind::AsyncCommit:
    return true;
  }
  throw InternalError("ir::equal: unknown statement kind");
}

// ---------------------------------------------------------------------------------------------
// Hashing
// ---------------------------------------------------------------------------------------------

/** boost::hash_combine, widened to 64 bits. */
void combine(std::size_t& seed, std::size_t v) {
  seed ^= v + 0x9e3779b97f4a7c15ull + (seed << 6) + (seed >> 2);
}

template <typename T> std::size_t h(const T& v) {
  return std::hash<T>{}(v);
}

void hash_all(std::size_t& seed, const std::vector<Expr>& es) {
  combine(seed, es.size());
  for (const Expr& e : es) {
    combine(seed, structural_hash(e));
  }
}

std::size_t hash_node(const Expr& e) {
  std::size_t seed = h(static_cast<int>(e.kind()));
  combine(seed, h(static_cast<int>(e.type())));
  switch (e.kind()) {
  case ExprKind::IntImm:
    combine(seed, h(e.as<IntImm>()->value));
    break;
  case ExprKind::FloatImm:
    combine(seed, h(std::bit_cast<std::uint64_t>(e.as<FloatImm>()->value)));
    break;
  case ExprKind::Var:
    combine(seed, h(e.as<Var>()->name));
    combine(seed, h(static_cast<int>(e.as<Var>()->var_kind) * 8 + e.as<Var>()->axis));
    break;
  case ExprKind::Binary:
    combine(seed, h(static_cast<int>(e.as<Binary>()->op)));
    combine(seed, structural_hash(e.as<Binary>()->a));
    combine(seed, structural_hash(e.as<Binary>()->b));
    break;
  case ExprKind::Unary:
    combine(seed, h(static_cast<int>(e.as<Unary>()->op)));
    combine(seed, structural_hash(e.as<Unary>()->a));
    break;
  case ExprKind::Select:
    combine(seed, structural_hash(e.as<Select>()->cond));
    combine(seed, structural_hash(e.as<Select>()->true_value));
    combine(seed, structural_hash(e.as<Select>()->false_value));
    break;
  case ExprKind::Cast:
    combine(seed, structural_hash(e.as<Cast>()->value));
    break;
  case ExprKind::Call:
    combine(seed, h(static_cast<int>(e.as<Call>()->op)));
    hash_all(seed, e.as<Call>()->args);
    break;
  case ExprKind::Load:
    combine(seed, h(e.as<Load>()->buffer.get()));
    hash_all(seed, e.as<Load>()->indices);
    break;
  }
  return seed;
}

void hash_region(std::size_t& seed, const Region& r) {
  combine(seed, h(r.buffer.get()));
  for (const Range& range : r.ranges) {
    combine(seed, structural_hash(range.start));
    combine(seed, h(range.extent * 2 + (range.squeezed ? 1 : 0)));
  }
}

std::size_t hash_node(const Stmt& s) {
  std::size_t seed = h(static_cast<int>(s.kind()));
  switch (s.kind()) {
  case StmtKind::Block:
    for (const Stmt& st : s.as<Block>()->stmts) {
      combine(seed, structural_hash(st));
    }
    break;
  case StmtKind::Allocate:
    combine(seed, h(s.as<Allocate>()->buffer.get()));
    combine(seed, h(s.as<Allocate>()->offset));
    break;
  case StmtKind::For: {
    const For* op = s.as<For>();
    combine(seed, h(static_cast<int>(op->for_kind) * 1024 + op->stages));
    combine(seed, structural_hash(op->var));
    combine(seed, structural_hash(op->min));
    combine(seed, structural_hash(op->extent));
    combine(seed, structural_hash(op->body));
    break;
  }
  case StmtKind::Parallel: {
    const Parallel* op = s.as<Parallel>();
    hash_all(seed, op->vars);
    for (std::int64_t e : op->extents) {
      combine(seed, h(e));
    }
    combine(seed, structural_hash(op->body));
    break;
  }
  case StmtKind::IfThenElse: {
    const IfThenElse* op = s.as<IfThenElse>();
    combine(seed, structural_hash(op->cond));
    combine(seed, structural_hash(op->then_case));
    combine(seed, structural_hash(op->else_case));
    break;
  }
  case StmtKind::Store: {
    const Store* op = s.as<Store>();
    combine(seed, h(op->buffer.get()));
    hash_all(seed, op->indices);
    combine(seed, structural_hash(op->value));
    break;
  }
  case StmtKind::TileOp: {
    const TileOp* op = s.as<TileOp>();
    combine(seed, std::hash<std::string>{}(op->op_name()));
    for (const Operand& o : op->operands()) {
      combine(seed, h(static_cast<int>(o.access)));
      hash_region(seed, o.region);
    }
    hash_all(seed, op->args());
    for (const std::string& a : op->attrs()) {
      combine(seed, std::hash<std::string>{}(a));
    }
    break;
  }
  case StmtKind::Atomic: {
    const Atomic* op = s.as<Atomic>();
    combine(seed, h(static_cast<int>(op->op)));
    combine(seed, h(op->buffer.get()));
    hash_all(seed, op->indices);
    combine(seed, structural_hash(op->value));
    break;
  }
  case StmtKind::ThreadRange:
    combine(seed, h(s.as<ThreadRange>()->begin));
    combine(seed, h(s.as<ThreadRange>()->end));
    combine(seed, structural_hash(s.as<ThreadRange>()->body));
    break;
  case StmtKind::LetStmt:
    combine(seed, structural_hash(s.as<LetStmt>()->var));
    combine(seed, structural_hash(s.as<LetStmt>()->value));
    combine(seed, structural_hash(s.as<LetStmt>()->body));
    break;
  case StmtKind::VectorCopy: {
    const VectorCopy* op = s.as<VectorCopy>();
    combine(seed, h(op->dst.get()));
    combine(seed, h(op->src.get()));
    combine(seed, h(op->lanes * 2 + (op->async ? 1 : 0)));
    hash_all(seed, op->dst_index);
    hash_all(seed, op->src_index);
    break;
  }
  case StmtKind::AsyncWait:
    combine(seed, h(s.as<AsyncWait>()->pending));
    break;
  case StmtKind::MmaTile: {
    const MmaTile* op = s.as<MmaTile>();
    combine(seed, h(static_cast<int>(op->path)));
    for (std::int64_t v : {op->m, op->n, op->k, op->lda, op->ldb}) {
      combine(seed, h(v));
    }
    combine(seed, h(op->acc.get()));
    combine(seed, structural_hash(op->tid));
    break;
  }
  case StmtKind::Barrier:
    combine(seed, h(static_cast<int>(s.as<Barrier>()->scope)));
    break;
  case StmtKind::PdlWait:
  case StmtKind::PdlTrigger:
  case StmtKind::AsyncCommit:
    break;
  }
  return seed;
}

} // namespace

bool equal(const Expr& a, const Expr& b) {
  if (a.same_as(b)) {
    return true;
  }
  if (!a.defined() || !b.defined() || a.kind() != b.kind() || a.type() != b.type()) {
    return false;
  }
  return equal_node(a, b);
}

bool equal(const Stmt& a, const Stmt& b) {
  if (a.same_as(b)) {
    return true;
  }
  if (!a.defined() || !b.defined() || a.kind() != b.kind()) {
    return false;
  }
  return equal_node(a, b);
}

std::size_t structural_hash(const Expr& e) {
  return e.defined() ? hash_node(e) : 0x5bd1e995u;
}

std::size_t structural_hash(const Stmt& s) {
  return s.defined() ? hash_node(s) : 0x27d4eb2du;
}

} // namespace tessera::ir
