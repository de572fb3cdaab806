#include "codegen/insert_barriers.h"

#include "ir/layout.h"
#include "ir/util.h"
#include "ops/copy.h"
#include "ops/tile_op.h"

#include <map>

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

/** Accesses to one named shared buffer. */
struct Access {
  bool reads = false, writes = false;
  /** Every write was a thread's own (a local copied into a thread-dependent region): threads
   *  write disjoint elements, so two such writes need no barrier between them. */
  bool private_writes = true;
};

/** What a statement does to shared memory: per buffer where the buffer is known (it cannot share
 *  bytes with another buffer in scope: the plan reuses bytes only across disjoint lifetimes),
 *  else anonymously (an op's own scratch, atomics; and buffers whose scope has ended, whose
 *  bytes a later buffer may reuse). */
struct Effects {
  Effect anon;
  std::map<const BufferNode*, Access> named;

  Effects& operator|=(const Effects& o) {
    anon |= o.anon;
    for (const auto& [b, a] : o.named) {
      add(b, a);
    }
    return *this;
  }
  void add(const BufferNode* b, const Access& a) {
    while (b->view_of) {
      b = b->view_of.get(); // a ring slot shares its ring's bytes
    }
    Access& m = named[b];
    if (a.writes) {
      m.private_writes = (m.writes ? m.private_writes : true) && a.private_writes;
      m.writes = true;
    }
    m.reads |= a.reads;
  }
  Effect total() const {
    Effect e = anon;
    for (const auto& [b, a] : named) {
      e.reads |= a.reads;
      e.writes |= a.writes;
    }
    return e;
  }
  /** The buffers of a block that ends become anonymous. */
  void end_scope(const std::vector<const BufferNode*>& buffers) {
    for (const BufferNode* b : buffers) {
      if (auto it = named.find(b); it != named.end()) {
        anon.reads |= it->second.reads;
        anon.writes |= it->second.writes;
        named.erase(it);
      }
    }
  }
};

bool shared(const Buffer& b) {
  return b->scope == Scope::shared;
}

bool thread_dependent(const Expr& e);

bool thread_dependent(const Region& r) {
  for (const Range& range : r.ranges) {
    if (thread_dependent(range.start)) {
      return true;
    }
  }
  return false;
}

/** A tile op's shared-memory effects: per operand buffer when its operands account for all of
 *  them, else anonymous. */
void tile_op_effects(const ops::TileOpNode* op, const ops::LayoutMap& layouts, Effects& e) {
  const ops::SharedEffects se = op->shared_effects(layouts);
  Effect operands;
  for (const Operand& o : op->operands()) {
    if (shared(o.region.buffer)) {
      operands.reads |= o.reads();
      operands.writes |= o.writes();
    }
  }
  if ((se.reads && !operands.reads) || (se.writes && !operands.writes)) {
    e.anon.reads |= se.reads;
    e.anon.writes |= se.writes;
    return;
  }
  const auto* copy = dynamic_cast<const ops::Copy*>(op);
  for (const Operand& o : op->operands()) {
    if (!shared(o.region.buffer)) {
      continue;
    }
    Access a;
    a.reads = o.reads() && se.reads;
    a.writes = o.writes() && se.writes;
    a.private_writes = copy != nullptr && o.writes() && copy->src.buffer->scope == Scope::local &&
                       thread_dependent(o.region);
    if (a.reads || a.writes) {
      e.add(o.region.buffer.get(), a);
    }
  }
}

/** Shared-memory reads and writes anywhere under `s`. */
Effects effect(const Stmt& s, const ops::LayoutMap& layouts) {
  Effects e;
  if (!s.defined()) {
    return e;
  }
  for_each_access(s, [&](const Buffer& b, const std::vector<Expr>&, bool store) {
    if (shared(b)) {
      Access a;
      (store ? a.writes : a.reads) = true;
      a.private_writes = false;
      e.add(b.get(), a);
    }
  });
  std::vector<const BufferNode*> declared; // inside the unit: out of scope after it
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
    case StmtKind::Allocate:
      if (!st.as<Allocate>()->buffer->view_of) { // a view's bytes outlive it (its ring's)
        declared.push_back(st.as<Allocate>()->buffer.get());
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
        tile_op_effects(op, layouts, e);
      }
      return;
    case StmtKind::Atomic:
      if (shared(st.as<Atomic>()->buffer)) {
        e.anon.reads = e.anon.writes = true;
      }
      return;
    default:
      return;
    }
  };
  walk(s);
  e.end_scope(declared);
  return e;
}

bool coarse_hazard(const Effect& pending, const Effect& next) {
  return (pending.writes && (next.reads || next.writes)) || (pending.reads && next.writes);
}

bool hazard(const Effects& pending, const Effects& next) {
  if (coarse_hazard(pending.anon, next.total()) || coarse_hazard(pending.total(), next.anon)) {
    return true;
  }
  for (const auto& [b, a] : next.named) {
    const auto it = pending.named.find(b);
    if (it == pending.named.end()) {
      continue; // another buffer in scope: other bytes
    }
    const Access& p = it->second;
    if ((p.writes && a.reads) || (p.reads && a.writes) ||
        (p.writes && a.writes && !(p.private_writes && a.private_writes))) {
      return true;
    }
  }
  return false;
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
  Stmt run(const Stmt& s, Effects& pending) {
    if (!s.defined()) {
      return s;
    }
    switch (s.kind()) {
    case StmtKind::Block: {
      std::vector<Stmt> out;
      std::vector<const BufferNode*> declared;
      for (const Stmt& c : s.as<Block>()->stmts) {
        if (const Allocate* a = c.as<Allocate>(); a != nullptr && !a->buffer->view_of) {
          declared.push_back(a->buffer.get());
        }
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
        const Effects e = effect(c, layouts_);
        if (hazard(pending, e)) {
          out.push_back(Barrier::make(c->loc));
          pending = {};
        }
        out.push_back(inner(c));
        pending |= e;
      }
      pending.end_scope(declared);
      return Block::make(std::move(out), s->loc, s.as<Block>()->note);
    }
    case StmtKind::For: {
      const For* op = s.as<For>();
      // Loop-carried hazards: run the body once to learn its exit state, then again from the
      // union of the entry state and that exit state.
      Effects probe = pending;
      run(op->body, probe);
      Effects entry = pending;
      entry |= probe;
      Stmt body = run(op->body, entry);
      pending |= entry;
      return For::make(op->var, op->min, op->extent, op->for_kind, body, op->loc, op->stages,
                       op->unroll);
    }
    default: {
      const Effects e = effect(s, layouts_);
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
      Effects clean;
      return ThreadRange::make(op->begin, op->end, run(op->body, clean), op->loc);
    }
    if (const IfThenElse* op = s.as<IfThenElse>()) {
      if (thread_dependent(op->cond)) {
        return s; // barriers inside a divergent branch would deadlock
      }
      Effects a, b;
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
  Effects pending;
  kernel.body = in.run(kernel.body, pending);
  return kernel;
}

} // namespace tessera::codegen
