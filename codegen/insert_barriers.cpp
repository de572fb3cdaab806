#include "codegen/insert_barriers.h"

#include "ir/layout.h"
#include "ir/util.h"
#include "ops/tile_op.h"

namespace tessera::codegen {

using namespace ir;

namespace {

struct Effect {
  bool reads = false, writes = false;
  Effect& operator|=(const Effect& o) {
    reads |= o.reads;
    writes |= o.writes;
    return *this;
  }
};

bool shared(const Buffer& b) {
  return b->scope == Scope::shared;
}

/** Shared-memory reads and writes anywhere under `s`. */
Effect effect(const Stmt& s, const ops::LayoutMap& layouts) {
  Effect e;
  if (!s.defined()) {
    return e;
  }
  for_each_access(s, [&](const Buffer& b, const std::vector<Expr>&, bool store) {
    if (shared(b)) {
      (store ? e.writes : e.reads) = true;
    }
  });
  std::function<void(const Stmt&)> walk = [&](const Stmt& st) {
    if (!st.defined()) {
      return;
    }
    switch (st.kind()) {
    case StmtKind::Block:
      for (const Stmt& c : st.as<Block>()->stmts) {
        walk(c);
      }
      return;
    case StmtKind::For:
      return walk(st.as<For>()->body);
    case StmtKind::IfThenElse:
      walk(st.as<IfThenElse>()->then_case);
      return walk(st.as<IfThenElse>()->else_case);
    case StmtKind::ThreadRange:
      return walk(st.as<ThreadRange>()->body);
    case StmtKind::TileOp:
      if (const auto* op = st.as<ops::TileOpNode>()) {
        const ops::SharedEffects se = op->shared_effects(layouts);
        e.reads |= se.reads;
        e.writes |= se.writes;
      }
      return;
    case StmtKind::Atomic:
      if (shared(st.as<Atomic>()->buffer)) {
        e.reads = e.writes = true;
      }
      return;
    default:
      return;
    }
  };
  walk(s);
  return e;
}

bool hazard(const Effect& pending, const Effect& next) {
  return (pending.writes && (next.reads || next.writes)) || (pending.reads && next.writes);
}

bool thread_dependent(const Expr& e) {
  bool dep = false;
  std::function<void(const Expr&)> walk = [&](const Expr& x) {
    if (!x.defined()) {
      return;
    }
    if (const Var* v = x.as<Var>()) {
      dep |= v->var_kind == VarKind::thread_idx;
    }
    if (x.as<Load>() || x.as<Call>()) {
      dep = true; // loaded values and shuffles may differ between threads
      return;
    }
    if (const Binary* b = x.as<Binary>()) {
      walk(b->a);
      walk(b->b);
    } else if (const Unary* u = x.as<Unary>()) {
      walk(u->a);
    } else if (const Cast* c = x.as<Cast>()) {
      walk(c->value);
    } else if (const Select* s = x.as<Select>()) {
      walk(s->cond);
      walk(s->true_value);
      walk(s->false_value);
    }
  };
  walk(e);
  return dep;
}

class Inserter {
public:
  explicit Inserter(const ops::LayoutMap& layouts) : layouts_(layouts) {}

  /** Rewrites `s` given the pending effect on entry; updates `pending` to the exit state. */
  Stmt run(const Stmt& s, Effect& pending) {
    if (!s.defined()) {
      return s;
    }
    switch (s.kind()) {
    case StmtKind::Block: {
      std::vector<Stmt> out;
      for (const Stmt& c : s.as<Block>()->stmts) {
        if (c.as<Barrier>()) {
          pending = {};
          out.push_back(c);
          continue;
        }
        if (c.as<For>() || c.as<Block>()) {
          out.push_back(run(c, pending));
          continue;
        }
        // A unit: the statement as a whole. Units with inner structure (if, thread range)
        // are rewritten inside with a clean state once the unit's entry hazard is resolved.
        const Effect e = effect(c, layouts_);
        if (hazard(pending, e)) {
          out.push_back(Barrier::make(c->loc));
          pending = {};
        }
        out.push_back(inner(c));
        pending |= e;
      }
      return Block::make(std::move(out), s->loc, s.as<Block>()->note);
    }
    case StmtKind::For: {
      const For* op = s.as<For>();
      // Loop-carried hazards: run the body once to learn its exit state, then again from the
      // union of the entry state and that exit state.
      Effect probe = pending;
      run(op->body, probe);
      Effect entry = pending;
      entry |= probe;
      Stmt body = run(op->body, entry);
      pending |= entry;
      return For::make(op->var, op->min, op->extent, op->for_kind, body, op->loc, op->stages,
                       op->unroll);
    }
    default: {
      const Effect e = effect(s, layouts_);
      Stmt r = inner(s);
      if (hazard(pending, e)) {
        pending = e;
        return Block::make({Barrier::make(s->loc), r}, s->loc);
      }
      pending |= e;
      return r;
    }
    }
  }

private:
  Stmt inner(const Stmt& s) {
    if (const ThreadRange* op = s.as<ThreadRange>()) {
      Effect clean;
      return ThreadRange::make(op->begin, op->end, run(op->body, clean), op->loc);
    }
    if (const IfThenElse* op = s.as<IfThenElse>()) {
      if (thread_dependent(op->cond)) {
        return s; // barriers inside a divergent branch would deadlock
      }
      Effect a, b;
      Stmt t = run(op->then_case, a);
      Stmt e = op->else_case.defined() ? run(op->else_case, b) : op->else_case;
      return IfThenElse::make(op->cond, t, e, op->loc);
    }
    return s;
  }

  const ops::LayoutMap& layouts_;
};

} // namespace

Kernel insert_barriers(Kernel kernel) {
  const ops::LayoutMap layouts = fragment_layouts(kernel.body);
  Inserter in(layouts);
  Effect pending;
  kernel.body = in.run(kernel.body, pending);
  return kernel;
}

} // namespace tessera::codegen
