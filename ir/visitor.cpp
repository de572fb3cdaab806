#include "ir/visitor.h"

#include "base/error.h"

namespace tessera::ir {

// ----------------------------------------------------------------------------- IRVisitor

void IRVisitor::visit(const Expr& e) {
  if (!e.defined()) {
    return;
  }
  switch (e.kind()) {
  case ExprKind::IntImm:
    return visit_int_imm(e.as<IntImm>());
  case ExprKind::FloatImm:
    return visit_float_imm(e.as<FloatImm>());
  case ExprKind::Var:
    return visit_var(e.as<Var>());
  case ExprKind::Binary:
    return visit_binary(e.as<Binary>());
  case ExprKind::Unary:
    return visit_unary(e.as<Unary>());
  case ExprKind::Select:
    return visit_select(e.as<Select>());
  case ExprKind::Cast:
    return visit_cast(e.as<Cast>());
  case ExprKind::Call:
    return visit_call(e.as<Call>());
  case ExprKind::Load:
    return visit_load(e.as<Load>());
  }
}

void IRVisitor::visit(const Stmt& s) {
  if (!s.defined()) {
    return;
  }
  switch (s.kind()) {
  case StmtKind::Block:
    return visit_block(s.as<Block>());
  case StmtKind::Allocate:
    return visit_allocate(s.as<Allocate>());
  case StmtKind::For:
    return visit_for(s.as<For>());
  case StmtKind::Parallel:
    return visit_parallel(s.as<Parallel>());
  case StmtKind::IfThenElse:
    return visit_if(s.as<IfThenElse>());
  case StmtKind::Store:
    return visit_store(s.as<Store>());
  case StmtKind::TileOp:
    return visit_tile_op(s.as<TileOp>());
  case StmtKind::Atomic:
    return visit_atomic(s.as<Atomic>());
  case StmtKind::ThreadRange:
    return visit_thread_range(s.as<ThreadRange>());
  case StmtKind::Barrier:
    return visit_barrier(s.as<Barrier>());
  case StmtKind::PdlWait:
    return visit_pdl_wait(s.as<PdlWait>());
  case StmtKind::PdlTrigger:
    return visit_pdl_trigger(s.as<PdlTrigger>());
  case StmtKind::LetStmt:
    return visit_let(s.as<LetStmt>());
  case StmtKind::VectorCopy:
    return visit_vector_copy(s.as<VectorCopy>());
  case StmtKind::AsyncCommit:
    return visit_async_commit(s.as<AsyncCommit>());
  case StmtKind::AsyncWait:
    return visit_async_wait(s.as<AsyncWait>());
  case StmtKind::MmaTile:
    return visit_mma_tile(s.as<MmaTile>());
  }
}

void IRVisitor::visit_binary(const Binary* op) {
  visit(op->a);
  visit(op->b);
}
void IRVisitor::visit_unary(const Unary* op) {
  visit(op->a);
}
void IRVisitor::visit_select(const Select* op) {
  visit(op->cond);
  visit(op->true_value);
  visit(op->false_value);
}
void IRVisitor::visit_cast(const Cast* op) {
  visit(op->value);
}
void IRVisitor::visit_call(const Call* op) {
  for (const Expr& a : op->args) {
    visit(a);
  }
}
void IRVisitor::visit_load(const Load* op) {
  for (const Expr& i : op->indices) {
    visit(i);
  }
}
void IRVisitor::visit_block(const Block* op) {
  for (const Stmt& s : op->stmts) {
    visit(s);
  }
}
void IRVisitor::visit_for(const For* op) {
  visit(op->min);
  visit(op->extent);
  visit(op->body);
}
void IRVisitor::visit_parallel(const Parallel* op) {
  visit(op->body);
}
void IRVisitor::visit_if(const IfThenElse* op) {
  visit(op->cond);
  visit(op->then_case);
  visit(op->else_case);
}
void IRVisitor::visit_store(const Store* op) {
  for (const Expr& i : op->indices) {
    visit(i);
  }
  visit(op->value);
}
void IRVisitor::visit_region(const Region& r) {
  for (const Range& range : r.ranges) {
    visit(range.start);
  }
}
void IRVisitor::visit_tile_op(const TileOp* op) {
  for (const Operand& o : op->operands()) {
    visit_region(o.region);
  }
  for (const Expr& a : op->args()) {
    visit(a);
  }
}
void IRVisitor::visit_atomic(const Atomic* op) {
  for (const Expr& i : op->indices) {
    visit(i);
  }
  visit(op->value);
}
void IRVisitor::visit_let(const LetStmt* op) {
  visit(op->value);
  visit(op->body);
}
void IRVisitor::visit_vector_copy(const VectorCopy* op) {
  for (const Expr& i : op->dst_index) {
    visit(i);
  }
  for (const Expr& i : op->src_index) {
    visit(i);
  }
}
void IRVisitor::visit_mma_tile(const MmaTile* op) {
  visit(op->tid);
}
void IRVisitor::visit_thread_range(const ThreadRange* op) {
  visit(op->body);
}

// ----------------------------------------------------------------------------- IRMutator

Expr IRMutator::mutate(const Expr& e) {
  if (!e.defined()) {
    return e;
  }
  switch (e.kind()) {
  case ExprKind::IntImm:
    return mutate_int_imm(e.as<IntImm>(), e);
  case ExprKind::FloatImm:
    return mutate_float_imm(e.as<FloatImm>(), e);
  case ExprKind::Var:
    return mutate_var(e.as<Var>(), e);
  case ExprKind::Binary:
    return mutate_binary(e.as<Binary>(), e);
  case ExprKind::Unary:
    return mutate_unary(e.as<Unary>(), e);
  case ExprKind::Select:
    return mutate_select(e.as<Select>(), e);
  case ExprKind::Cast:
    return mutate_cast(e.as<Cast>(), e);
  case ExprKind::Call:
    return mutate_call(e.as<Call>(), e);
  case ExprKind::Load:
    return mutate_load(e.as<Load>(), e);
  }
  throw InternalError("IRMutator: unknown expression kind");
}

Stmt IRMutator::mutate(const Stmt& s) {
  if (!s.defined()) {
    return s;
  }
  switch (s.kind()) {
  case StmtKind::Block:
    return mutate_block(s.as<Block>(), s);
  case StmtKind::Allocate:
    return mutate_allocate(s.as<Allocate>(), s);
  case StmtKind::For:
    return mutate_for(s.as<For>(), s);
  case StmtKind::Parallel:
    return mutate_parallel(s.as<Parallel>(), s);
  case StmtKind::IfThenElse:
    return mutate_if(s.as<IfThenElse>(), s);
  case StmtKind::Store:
    return mutate_store(s.as<Store>(), s);
  case StmtKind::TileOp:
    return mutate_tile_op(s.as<TileOp>(), s);
  case StmtKind::Atomic:
    return mutate_atomic(s.as<Atomic>(), s);
  case StmtKind::ThreadRange:
    return mutate_thread_range(s.as<ThreadRange>(), s);
  case StmtKind::Barrier:
    return mutate_barrier(s.as<Barrier>(), s);
  case StmtKind::PdlWait:
    return mutate_pdl_wait(s.as<PdlWait>(), s);
  case StmtKind::PdlTrigger:
    return mutate_pdl_trigger(s.as<PdlTrigger>(), s);
  case StmtKind::LetStmt:
    return mutate_let(s.as<LetStmt>(), s);
  case StmtKind::VectorCopy:
    return mutate_vector_copy(s.as<VectorCopy>(), s);
  case StmtKind::AsyncCommit:
    return mutate_async_commit(s.as<AsyncCommit>(), s);
  case StmtKind::AsyncWait:
    return mutate_async_wait(s.as<AsyncWait>(), s);
  case StmtKind::MmaTile:
    return mutate_mma_tile(s.as<MmaTile>(), s);
  }
  throw InternalError("IRMutator: unknown statement kind");
}

namespace {

constexpr auto kMutateExpr = static_cast<Expr (IRMutator::*)(const Expr&)>(&IRMutator::mutate);

bool mutate_all(IRMutator& m, const std::vector<Expr>& in, std::vector<Expr>& out,
                Expr (IRMutator::*fn)(const Expr&)) {
  bool changed = false;
  out.reserve(in.size());
  for (const Expr& e : in) {
    out.push_back((m.*fn)(e));
    changed = changed || !out.back().same_as(e);
  }
  return changed;
}

} // namespace

Expr IRMutator::mutate_binary(const Binary* op, const Expr& e) {
  Expr a = mutate(op->a), b = mutate(op->b);
  return a.same_as(op->a) && b.same_as(op->b) ? e : Binary::make(op->op, a, b);
}
Expr IRMutator::mutate_unary(const Unary* op, const Expr& e) {
  Expr a = mutate(op->a);
  return a.same_as(op->a) ? e : Unary::make(op->op, a);
}
Expr IRMutator::mutate_select(const Select* op, const Expr& e) {
  Expr c = mutate(op->cond), t = mutate(op->true_value), f = mutate(op->false_value);
  if (c.same_as(op->cond) && t.same_as(op->true_value) && f.same_as(op->false_value)) {
    return e;
  }
  return Select::make(c, t, f);
}
Expr IRMutator::mutate_cast(const Cast* op, const Expr& e) {
  Expr v = mutate(op->value);
  return v.same_as(op->value) ? e : Cast::make(op->type, v);
}
Expr IRMutator::mutate_call(const Call* op, const Expr& e) {
  std::vector<Expr> args;
  bool changed = mutate_all(*this, op->args, args, kMutateExpr);
  return changed ? Call::make(op->op, std::move(args)) : e;
}
Expr IRMutator::mutate_load(const Load* op, const Expr& e) {
  std::vector<Expr> idx;
  bool changed = mutate_all(*this, op->indices, idx, kMutateExpr);
  return changed ? Load::make(op->buffer, std::move(idx)) : e;
}

Stmt IRMutator::mutate_block(const Block* op, const Stmt& s) {
  std::vector<Stmt> out;
  bool changed = false;
  for (const Stmt& st : op->stmts) {
    Stmt m = mutate(st);
    changed = changed || !m.same_as(st);
    if (m.defined()) {
      out.push_back(std::move(m));
    }
  }
  return changed ? Block::make(std::move(out), op->loc, op->note) : s;
}
Stmt IRMutator::mutate_for(const For* op, const Stmt& s) {
  Expr mn = mutate(op->min), ext = mutate(op->extent);
  Stmt body = mutate(op->body);
  if (mn.same_as(op->min) && ext.same_as(op->extent) && body.same_as(op->body)) {
    return s;
  }
  return For::make(op->var, mn, ext, op->for_kind, body, op->loc, op->stages, op->unroll);
}
Stmt IRMutator::mutate_let(const LetStmt* op, const Stmt& s) {
  Expr v = mutate(op->value);
  Stmt body = mutate(op->body);
  return v.same_as(op->value) && body.same_as(op->body) ? s
                                                        : LetStmt::make(op->var, v, body, op->loc);
}
Stmt IRMutator::mutate_vector_copy(const VectorCopy* op, const Stmt& s) {
  std::vector<Expr> di, si;
  const bool a = mutate_all(*this, op->dst_index, di, kMutateExpr);
  const bool b = mutate_all(*this, op->src_index, si, kMutateExpr);
  return a || b ? VectorCopy::make(op->dst, std::move(di), op->src, std::move(si), op->lanes,
                                   op->async, op->loc)
                : s;
}
Stmt IRMutator::mutate_mma_tile(const MmaTile* op, const Stmt& s) {
  Expr t = mutate(op->tid);
  if (t.same_as(op->tid)) {
    return s;
  }
  MmaTile f = *op;
  f.tid = t;
  return MmaTile::make(f);
}
Stmt IRMutator::mutate_parallel(const Parallel* op, const Stmt& s) {
  Stmt body = mutate(op->body);
  return body.same_as(op->body) ? s
                                : Parallel::make(op->vars, op->extents, body, op->loc, op->plan);
}
Stmt IRMutator::mutate_if(const IfThenElse* op, const Stmt& s) {
  Expr c = mutate(op->cond);
  Stmt t = mutate(op->then_case), f = mutate(op->else_case);
  if (c.same_as(op->cond) && t.same_as(op->then_case) && f.same_as(op->else_case)) {
    return s;
  }
  return IfThenElse::make(c, t, f, op->loc);
}
Stmt IRMutator::mutate_store(const Store* op, const Stmt& s) {
  std::vector<Expr> idx;
  bool changed = mutate_all(*this, op->indices, idx, kMutateExpr);
  Expr v = mutate(op->value);
  if (!changed && v.same_as(op->value)) {
    return s;
  }
  return Store::make(op->buffer, std::move(idx), v, op->loc);
}
bool IRMutator::mutate_region(const Region& in, Region& out) {
  out.buffer = in.buffer;
  out.ranges.clear();
  bool changed = false;
  for (const Range& r : in.ranges) {
    Range m = r;
    m.start = mutate(r.start);
    changed = changed || !m.start.same_as(r.start);
    out.ranges.push_back(std::move(m));
  }
  return changed;
}
Stmt IRMutator::mutate_tile_op(const TileOp* op, const Stmt& s) {
  bool changed = false;
  std::vector<Region> regions;
  for (const Operand& o : op->operands()) {
    Region r;
    changed = mutate_region(o.region, r) || changed;
    regions.push_back(std::move(r));
  }
  std::vector<Expr> args;
  changed = mutate_all(*this, op->args(), args, kMutateExpr) || changed;
  return changed ? op->rebuild(std::move(regions), std::move(args)) : s;
}
Stmt IRMutator::mutate_atomic(const Atomic* op, const Stmt& s) {
  std::vector<Expr> idx;
  bool changed = mutate_all(*this, op->indices, idx, kMutateExpr);
  Expr v = mutate(op->value);
  if (!changed && v.same_as(op->value)) {
    return s;
  }
  return Atomic::make(op->op, op->buffer, std::move(idx), v, op->loc);
}
Stmt IRMutator::mutate_thread_range(const ThreadRange* op, const Stmt& s) {
  Stmt body = mutate(op->body);
  return body.same_as(op->body) ? s : ThreadRange::make(op->begin, op->end, body, op->loc);
}

} // namespace tessera::ir
