#include "codegen/llvm/thread_analysis.h"

#include "ir/visitor.h"

namespace tessera::codegen::cpu_internal {

using namespace ir;

namespace {

bool is_warp_call(const Expr& e) {
  const auto* c = e.as<Call>();
  return c != nullptr && is_warp_op(c->op);
}

/** True if `pred` holds for some sub-expression of `e`. */
class ExprFinder : public IRVisitor {
public:
  explicit ExprFinder(std::function<bool(const Expr&)> pred) : pred_(std::move(pred)) {}
  bool found = false;
  void check(const Expr& e) {
    if (!found && e.defined()) {
      if (pred_(e)) {
        found = true;
        return;
      }
      visit(e);
    }
  }

protected:
  // Route every child expression through check() so that pred sees each node.
  void visit_binary(const Binary* op) override {
    check(op->a);
    check(op->b);
  }
  void visit_unary(const Unary* op) override { check(op->a); }
  void visit_select(const Select* op) override {
    check(op->cond);
    check(op->true_value);
    check(op->false_value);
  }
  void visit_cast(const Cast* op) override { check(op->value); }
  void visit_call(const Call* op) override {
    for (const Expr& a : op->args) {
      check(a);
    }
  }
  void visit_load(const Load* op) override {
    for (const Expr& i : op->indices) {
      check(i);
    }
  }

private:
  std::function<bool(const Expr&)> pred_;
};

bool any_expr(const Expr& e, const std::function<bool(const Expr&)>& pred) {
  ExprFinder f(pred);
  f.check(e);
  return f.found;
}

/** The local buffers a statement writes itself. */
void for_each_own_write(const Stmt& s, const std::function<void(const BufferNode*)>& fn) {
  switch (s.kind()) {
  case StmtKind::Store:
    fn(s.as<Store>()->buffer.get());
    break;
  case StmtKind::Atomic:
    fn(s.as<Atomic>()->buffer.get());
    break;
  case StmtKind::VectorCopy:
    fn(s.as<VectorCopy>()->dst.get());
    break;
  default:
    break;
  }
}

void for_each_child(const Stmt& s, const std::function<void(const Stmt&)>& fn) {
  switch (s.kind()) {
  case StmtKind::Block:
    for (const Stmt& c : s.as<Block>()->stmts) {
      fn(c);
    }
    break;
  case StmtKind::For:
    fn(s.as<For>()->body);
    break;
  case StmtKind::IfThenElse:
    fn(s.as<IfThenElse>()->then_case);
    if (s.as<IfThenElse>()->else_case.defined()) {
      fn(s.as<IfThenElse>()->else_case);
    }
    break;
  case StmtKind::ThreadRange:
    fn(s.as<ThreadRange>()->body);
    break;
  case StmtKind::LetStmt:
    fn(s.as<LetStmt>()->body);
    break;
  default:
    break;
  }
}

bool any_stmt(const Stmt& s, const std::function<bool(const Stmt&)>& pred) {
  if (!s.defined()) {
    return false;
  }
  if (pred(s)) {
    return true;
  }
  bool found = false;
  for_each_child(s, [&](const Stmt& c) { found = found || any_stmt(c, pred); });
  return found;
}

} // namespace

void for_each_own_expr(const Stmt& s, const std::function<void(const Expr&)>& fn) {
  switch (s.kind()) {
  case StmtKind::For:
    fn(s.as<For>()->min);
    fn(s.as<For>()->extent);
    break;
  case StmtKind::IfThenElse:
    fn(s.as<IfThenElse>()->cond);
    break;
  case StmtKind::LetStmt:
    fn(s.as<LetStmt>()->value);
    break;
  case StmtKind::Store: {
    const auto* op = s.as<Store>();
    for (const Expr& i : op->indices) {
      fn(i);
    }
    fn(op->value);
    break;
  }
  case StmtKind::Atomic: {
    const auto* op = s.as<Atomic>();
    for (const Expr& i : op->indices) {
      fn(i);
    }
    fn(op->value);
    break;
  }
  case StmtKind::VectorCopy: {
    const auto* op = s.as<VectorCopy>();
    for (const Expr& i : op->dst_index) {
      fn(i);
    }
    for (const Expr& i : op->src_index) {
      fn(i);
    }
    break;
  }
  case StmtKind::MmaTile:
    fn(s.as<MmaTile>()->tid);
    break;
  default:
    break;
  }
}

bool ThreadAnalysis::has_warp_op(const Expr& e) {
  return any_expr(e, is_warp_call);
}

bool ThreadAnalysis::own_has_warp_op(const Stmt& s) {
  bool found = false;
  for_each_own_expr(s, [&](const Expr& e) { found = found || has_warp_op(e); });
  return found;
}

bool ThreadAnalysis::is_sync(const Stmt& s) {
  return any_stmt(s, [](const Stmt& x) {
    return x.kind() == StmtKind::Barrier || x.kind() == StmtKind::MmaTile || own_has_warp_op(x);
  });
}

bool ThreadAnalysis::children_sync(const Stmt& s) {
  bool found = false;
  for_each_child(s, [&](const Stmt& c) { found = found || is_sync(c); });
  return found;
}

bool ThreadAnalysis::varying(const Expr& e) const {
  return any_expr(e, [&](const Expr& x) {
    if (const auto* v = x.as<Var>()) {
      return v->var_kind == VarKind::thread_idx || varying_var(v);
    }
    if (const auto* l = x.as<Load>()) {
      return varying_local(l->buffer.get());
    }
    return is_warp_call(x);
  });
}

bool ThreadAnalysis::per_thread(const Stmt& s) const {
  return any_stmt(s, [&](const Stmt& x) {
    if (x.kind() == StmtKind::Atomic) {
      return true;
    }
    bool found = false;
    for_each_own_expr(x, [&](const Expr& e) { found = found || varying(e); });
    for_each_own_write(x, [&](const BufferNode* b) { found = found || varying_local(b); });
    if (const auto* c = x.as<VectorCopy>()) {
      found = found || varying_local(c->src.get());
    }
    return found;
  });
}

ThreadAnalysis::ThreadAnalysis(const Kernel& kernel) {
  // Fixpoint: a variable bound to a thread-dependent value, or a local written in a
  // thread-dependent way, makes what reads it thread-dependent, which can make more so.
  bool changed = true;
  while (changed) {
    changed = false;
    std::function<void(const Stmt&, bool)> walk = [&](const Stmt& s, bool varying_ctx) {
      if (!s.defined()) {
        return;
      }
      bool own_varying = false;
      for_each_own_expr(s, [&](const Expr& e) { own_varying = own_varying || varying(e); });
      for_each_own_write(s, [&](const BufferNode* b) {
        if (b->scope == Scope::local && (varying_ctx || own_varying) &&
            varying_locals_.insert(b).second) {
          changed = true;
        }
      });
      if (const auto* let = s.as<LetStmt>(); let && varying(let->value)) {
        changed = varying_vars_.insert(let->var.get()).second || changed;
      }
      if (const auto* f = s.as<For>(); f && own_varying) {
        changed = varying_vars_.insert(f->var.get()).second || changed;
      }
      // A thread range alone does not make its locals differ between threads: threads outside
      // it never read them (on the GPU they would read uninitialised registers).
      bool child_ctx = varying_ctx;
      if (s.kind() == StmtKind::For || s.kind() == StmtKind::IfThenElse) {
        child_ctx = child_ctx || own_varying; // thread-dependent trip count or branch
      }
      for_each_child(s, [&](const Stmt& c) { walk(c, child_ctx); });
    };
    walk(kernel.body, false);
    if (!changed) {
      changed = mark_updated_in_thread_loops(kernel.body);
    }
  }
}

bool ThreadAnalysis::mark_updated_in_thread_loops(const Stmt& body) {
  // A local that a thread loop updates from its own value (`carry = carry + total`) needs one
  // copy per thread even when every thread computes the same value: the CPU runs the threads
  // one after another, so the second would start from the first one's result. The regions
  // mirror Translator::block_level: what it wraps in a thread loop.
  bool changed = false;
  auto mark = [&](const Stmt& region) {
    any_stmt(region, [&](const Stmt& x) {
      const auto* st = x.as<Store>();
      if (st != nullptr && st->buffer->scope == Scope::local && !varying_local(st->buffer.get()) &&
          any_expr(st->value, [&](const Expr& e) {
            const auto* l = e.as<Load>();
            return l != nullptr && l->buffer.get() == st->buffer.get();
          })) {
        varying_locals_.insert(st->buffer.get());
        changed = true;
      }
      return false;
    });
  };
  std::function<void(const Stmt&)> place = [&](const Stmt& s) {
    if (!s.defined()) {
      return;
    }
    if (!is_sync(s) || own_has_warp_op(s)) {
      if (per_thread(s) || own_has_warp_op(s)) {
        mark(s);
      }
      return;
    }
    if (const auto* b = s.as<Block>()) {
      for (const Stmt& c : b->stmts) {
        if (c.kind() != StmtKind::Allocate && !is_sync(c) && per_thread(c)) {
          mark(c);
        } else {
          place(c);
        }
      }
      return;
    }
    for_each_child(s, place);
  };
  place(body);
  return changed;
}

} // namespace tessera::codegen::cpu_internal
