/** \file
 * IRVisitor walks every node (override the kinds you care about and call the base to recurse);
 * IRMutator rebuilds the tree bottom-up, reusing unchanged nodes. Mirrors Halide's
 * IRVisitor.h / IRMutator.h, with dispatch on the node kind instead of double dispatch.
 */
#pragma once

#include "ir/ir.h"

namespace tessera::ir {

class IRVisitor {
public:
  virtual ~IRVisitor() = default;
  void visit(const Expr& e);
  void visit(const Stmt& s);

protected:
  virtual void visit_int_imm(const IntImm*) {}
  virtual void visit_float_imm(const FloatImm*) {}
  virtual void visit_var(const Var*) {}
  virtual void visit_binary(const Binary* op);
  virtual void visit_unary(const Unary* op);
  virtual void visit_select(const Select* op);
  virtual void visit_cast(const Cast* op);
  virtual void visit_call(const Call* op);
  virtual void visit_load(const Load* op);

  virtual void visit_block(const Block* op);
  virtual void visit_allocate(const Allocate*) {}
  virtual void visit_for(const For* op);
  virtual void visit_parallel(const Parallel* op);
  virtual void visit_if(const IfThenElse* op);
  virtual void visit_store(const Store* op);
  /** Visits the region starts and scalar arguments of every operand. */
  virtual void visit_tile_op(const TileOp* op);
  virtual void visit_atomic(const Atomic* op);
  virtual void visit_thread_range(const ThreadRange* op);
  virtual void visit_barrier(const Barrier*) {}
  virtual void visit_pdl_wait(const PdlWait*) {}
  virtual void visit_pdl_trigger(const PdlTrigger*) {}
  virtual void visit_let(const LetStmt* op);
  virtual void visit_vector_copy(const VectorCopy* op);
  virtual void visit_async_commit(const AsyncCommit*) {}
  virtual void visit_async_wait(const AsyncWait*) {}
  virtual void visit_mma_tile(const MmaTile* op);

  /** Visits the start expressions of a region. */
  void visit_region(const Region& r);
};

class IRMutator {
public:
  virtual ~IRMutator() = default;
  Expr mutate(const Expr& e);
  Stmt mutate(const Stmt& s);

protected:
  virtual Expr mutate_int_imm(const IntImm* op, const Expr& e) { return e; }
  virtual Expr mutate_float_imm(const FloatImm* op, const Expr& e) { return e; }
  virtual Expr mutate_var(const Var* op, const Expr& e) { return e; }
  virtual Expr mutate_binary(const Binary* op, const Expr& e);
  virtual Expr mutate_unary(const Unary* op, const Expr& e);
  virtual Expr mutate_select(const Select* op, const Expr& e);
  virtual Expr mutate_cast(const Cast* op, const Expr& e);
  virtual Expr mutate_call(const Call* op, const Expr& e);
  virtual Expr mutate_load(const Load* op, const Expr& e);

  virtual Stmt mutate_block(const Block* op, const Stmt& s);
  virtual Stmt mutate_allocate(const Allocate* op, const Stmt& s) { return s; }
  virtual Stmt mutate_for(const For* op, const Stmt& s);
  virtual Stmt mutate_parallel(const Parallel* op, const Stmt& s);
  virtual Stmt mutate_if(const IfThenElse* op, const Stmt& s);
  virtual Stmt mutate_store(const Store* op, const Stmt& s);
  /** Mutates region starts and scalar arguments; rebuilds the op (TileOp::rebuild) on change. */
  virtual Stmt mutate_tile_op(const TileOp* op, const Stmt& s);
  virtual Stmt mutate_atomic(const Atomic* op, const Stmt& s);
  virtual Stmt mutate_thread_range(const ThreadRange* op, const Stmt& s);
  virtual Stmt mutate_barrier(const Barrier* op, const Stmt& s) { return s; }
  virtual Stmt mutate_pdl_wait(const PdlWait* op, const Stmt& s) { return s; }
  virtual Stmt mutate_pdl_trigger(const PdlTrigger* op, const Stmt& s) { return s; }
  virtual Stmt mutate_let(const LetStmt* op, const Stmt& s);
  virtual Stmt mutate_vector_copy(const VectorCopy* op, const Stmt& s);
  virtual Stmt mutate_async_commit(const AsyncCommit* op, const Stmt& s) { return s; }
  virtual Stmt mutate_async_wait(const AsyncWait* op, const Stmt& s) { return s; }
  virtual Stmt mutate_mma_tile(const MmaTile* op, const Stmt& s);

  /** Mutates the start expressions of a region; returns true if any changed. */
  bool mutate_region(const Region& in, Region& out);
};

} // namespace tessera::ir
