// Software pipelining pass: see pipeline_loops.h for the rewrite and its invariants.
#include "codegen/pipeline_loops.h"

#include "base/error.h"
#include "ir/util.h"
#include "ir/visitor.h"
#include "ops/copy.h"

#include <algorithm>
#include <fmt/format.h>
#include <functional>
#include <map>
#include <set>
#include <vector>

namespace tessera::codegen {

using namespace ir;
using ops::Copy;

namespace {

/** Counts references (reads and writes) and writes of every buffer. */
class RefCounter : public IRVisitor {
public:
  std::map<const BufferNode*, int> refs, writes;

protected:
  void visit_load(const Load* op) override {
    ++refs[op->buffer.get()];
    IRVisitor::visit_load(op);
  }
  void visit_store(const Store* op) override {
    ++refs[op->buffer.get()];
    ++writes[op->buffer.get()];
    IRVisitor::visit_store(op);
  }
  void visit_tile_op(const TileOp* op) override {
    for (const Operand& o : op->operands()) {
      ++refs[o.region.buffer.get()];
      if (o.writes()) {
        ++writes[o.region.buffer.get()];
      }
    }
    IRVisitor::visit_tile_op(op);
  }
  void visit_atomic(const Atomic* op) override {
    ++refs[op->buffer.get()];
    ++writes[op->buffer.get()];
    IRVisitor::visit_atomic(op);
  }
};

RefCounter count_refs(const Stmt& s) {
  RefCounter c;
  c.visit(s);
  return c;
}

/** Substitutes one loop variable and renames buffers; the tree shape is unchanged. */
class Rewrite : public IRMutator {
public:
  Rewrite(Expr var, Expr value, std::map<const BufferNode*, Buffer> buffers)
      : var_(std::move(var)), value_(std::move(value)), buffers_(std::move(buffers)) {}

protected:
  Buffer buf(const Buffer& b) const {
    auto it = buffers_.find(b.get());
    return it == buffers_.end() ? b : it->second;
  }
  Expr mutate_var(const Var* op, const Expr& e) override {
    return var_.defined() && e.same_as(var_) ? value_ : e;
  }
  Expr mutate_load(const Load* op, const Expr& e) override {
    Expr r = IRMutator::mutate_load(op, e);
    const Load* l = r.as<Load>();
    Buffer b = buf(l->buffer);
    return b == l->buffer ? r : Load::make(b, l->indices);
  }
  Stmt mutate_store(const Store* op, const Stmt& s) override {
    Stmt r = IRMutator::mutate_store(op, s);
    const Store* st = r.as<Store>();
    Buffer b = buf(st->buffer);
    return b == st->buffer ? r : Store::make(b, st->indices, st->value, st->loc);
  }
  Stmt mutate_tile_op(const TileOp* op, const Stmt& s) override {
    Stmt r = IRMutator::mutate_tile_op(op, s);
    const TileOp* t = r.as<TileOp>();
    std::vector<Region> regions;
    bool renamed = false;
    for (const Operand& o : t->operands()) {
      Region reg = o.region;
      reg.buffer = buf(reg.buffer);
      renamed = renamed || reg.buffer != o.region.buffer;
      regions.push_back(std::move(reg));
    }
    return renamed ? t->rebuild(std::move(regions), t->args()) : r;
  }
  Stmt mutate_atomic(const Atomic* op, const Stmt& s) override {
    Stmt r = IRMutator::mutate_atomic(op, s);
    const Atomic* a = r.as<Atomic>();
    Buffer b = buf(a->buffer);
    return b == a->buffer ? r : Atomic::make(a->op, b, a->indices, a->value, a->loc);
  }

private:
  Expr var_, value_;
  std::map<const BufferNode*, Buffer> buffers_;
};

bool whole_tile(const Region& r) {
  for (std::size_t d = 0; d < r.ranges.size(); ++d) {
    const IntImm* s = r.ranges[d].start.as<IntImm>();
    if (s == nullptr || s->value != 0 || r.ranges[d].squeezed ||
        r.ranges[d].extent != const_extent(r.buffer, static_cast<int>(d)))
      return false;
  }
  return true;
}

class Pipeliner : public IRMutator {
public:
  explicit Pipeliner(const RefCounter& all) : all_(all) {}

protected:
  Stmt mutate_block(const Block* op, const Stmt& s) override {
    Stmt r = IRMutator::mutate_block(op, s);
    // Allocations of tiles now living in ring slots are dead.
    std::vector<Stmt> kept;
    bool dropped = false;
    for (const Stmt& st : r.as<Block>()->stmts) {
      const Allocate* a = st.as<Allocate>();
      if (a != nullptr && replaced_.count(a->buffer.get())) {
        dropped = true;
        continue;
      }
      kept.push_back(st);
    }
    return dropped ? Block::make(std::move(kept), r->loc) : r;
  }

  Stmt mutate_for(const For* op, const Stmt& s) override {
    Stmt r = IRMutator::mutate_for(op, s); // inner loops first
    const For* f = r.as<For>();
    if (f->for_kind != ForKind::pipelined)
      return r;
    if (f->stages > 1) {
      if (Stmt p = pipeline(f); p.defined())
        return p;
    }
    return For::make(f->var, f->min, f->extent, ForKind::serial, f->body, f->loc, 1);
  }

private:
  /** Commit this thread's copies issued since the last commit as one group. */
  static Stmt commit(const SourceLoc& loc) { return AsyncCommit::make(loc); }
  /** Wait until at most `pending` groups are in flight, then a barrier: the data of the
   *  groups before has landed for every thread, and the slots read before are free. */
  static Stmt wait(int pending, const SourceLoc& loc) {
    return Block::make({AsyncWait::make(pending, loc), Barrier::make(loc)}, loc);
  }

  static Stmt rewrite(const Stmt& s, const Expr& var, const Expr& value,
                      const std::map<const BufferNode*, Buffer>& buffers) {
    Rewrite rw(var, value, buffers);
    return rw.mutate(s);
  }

  /** The body without its loads, and without the allocations of the tiles they fill (those
   *  move out of the loop with the ring). */
  static Stmt compute_of(const For* f, const std::vector<Stmt>& body,
                         const std::vector<std::size_t>& loads,
                         const std::set<const BufferNode*>& tiles) {
    std::vector<Stmt> compute;
    for (std::size_t i = 0; i < body.size(); ++i) {
      const Allocate* a = body[i].as<Allocate>();
      if (std::find(loads.begin(), loads.end(), i) != loads.end() ||
          (a && tiles.count(a->buffer.get())))
        continue;
      compute.push_back(body[i]);
    }
    return Block::make(std::move(compute), f->body->loc);
  }

  /** The loads of iteration `j` into the tiles `names` maps them to, marked deferred: the
   *  pipeline orders these writes itself (its waits and barriers), async or not. */
  static Stmt issue_loads(const std::vector<Stmt>& body, const std::vector<std::size_t>& loads,
                          const For* f, const Expr& j,
                          const std::map<const BufferNode*, Buffer>& names) {
    std::vector<Stmt> copies;
    for (std::size_t i : loads) {
      const Stmt c = rewrite(body[i], f->var, add(f->min, j), names);
      const Copy* copy = c.as<Copy>();
      ops::CopyPlan plan = copy->plan.value_or(ops::CopyPlan{});
      plan.deferred = true;
      copies.push_back(copy->with_plan(plan));
    }
    return Block::make(std::move(copies), f->loc);
  }

  Stmt pipeline(const For* f) {
    const int S = f->stages, D = S - 1;
    std::vector<Stmt> body =
        f->body.as<Block>() ? f->body.as<Block>()->stmts : std::vector<Stmt>{f->body};
    const RefCounter in_loop = count_refs(f->body);

    // The loads: top-level global → whole-shared-tile copies whose tile is written only there
    // and referenced nowhere outside the loop.
    std::vector<std::size_t> loads;
    std::map<const BufferNode*, int> load_writes;
    for (std::size_t i = 0; i < body.size(); ++i) {
      const Copy* c = body[i].as<Copy>();
      if (c && c->src.buffer->scope == Scope::global && c->dst.buffer->scope == Scope::shared &&
          whole_tile(c->dst))
        ++load_writes[c->dst.buffer.get()];
    }
    std::set<const BufferNode*> tiles;
    for (std::size_t i = 0; i < body.size(); ++i) {
      const Copy* c = body[i].as<Copy>();
      if (!c || !load_writes.count(c->dst.buffer.get()))
        continue;
      const BufferNode* t = c->dst.buffer.get();
      const int loop_refs = in_loop.refs.count(t) ? in_loop.refs.at(t) : 0;
      const int all_refs = all_.refs.count(t) ? all_.refs.at(t) : 0;
      const int loop_writes = in_loop.writes.count(t) ? in_loop.writes.at(t) : 0;
      if (load_writes[t] == 1 && loop_writes == 1 && loop_refs == all_refs) {
        loads.push_back(i);
        tiles.insert(t);
      }
    }
    if (loads.empty())
      return {};

    // Two stages: `stages` constant slots, the loop body unrolled by `stages` (constant slot
    // addresses; measured: the runtime slot of a 64x64 f32 gemm spilled on sm_80). More stages:
    // one ring with runtime slot views (one body, a third of the code at three stages).
    if (S == 2) {
      return unrolled(f, body, loads, tiles);
    }
    // One ring per tile: `stages` slots back to back (slot bytes stay 16-byte aligned), reached
    // through views whose offset is the slot of the iteration, so the steady state is one loop
    // body instead of `stages` copies of it (a third of the code NVRTC compiles at 3 stages).
    std::map<const BufferNode*, Buffer> rings;
    std::map<const BufferNode*, std::int64_t> slot_elems;
    std::vector<Stmt> out;
    for (std::size_t i : loads) {
      const Buffer& t = body[i].as<Copy>()->dst.buffer;
      const std::int64_t elems = storage_numel(t);
      if (elems <= 0 || (elems * static_cast<std::int64_t>(dtype_size(t->dtype))) % 16 != 0) {
        return {};
      }
      auto ring = std::make_shared<BufferNode>(*t);
      ring->name = t->name + "_ring";
      ring->shape.insert(ring->shape.begin(), i32(S));
      rings[t.get()] = ring;
      slot_elems[t.get()] = elems;
      out.push_back(Allocate::make(ring, t->loc));
      replaced_.insert(t.get());
    }
    // Views of slot `slot` of every ring, declared at the head of `stmts`; renames tile → view.
    int views = 0;
    auto with_views =
        [&](const Expr& slot,
            const std::function<Stmt(const std::map<const BufferNode*, Buffer>&)>& make) {
          std::map<const BufferNode*, Buffer> names;
          std::vector<Stmt> stmts;
          for (std::size_t i : loads) {
            const Buffer& t = body[i].as<Copy>()->dst.buffer;
            auto v = std::make_shared<BufferNode>(*t);
            v->name = fmt::format("{}_slot{}", t->name, views);
            v->view_of = rings.at(t.get());
            v->view_offset = mul(slot, i32(slot_elems.at(t.get())));
            names[t.get()] = v;
            stmts.push_back(Allocate::make(v, t->loc));
          }
          ++views;
          stmts.push_back(make(names));
          return Block::make(std::move(stmts), f->loc);
        };
    const Stmt compute_block = compute_of(f, body, loads, tiles);
    const SourceLoc& loc = f->loc;
    const Expr n = f->extent;

    auto issue = [&](const Expr& j, const Expr& slot) {
      return with_views(slot, [&](const std::map<const BufferNode*, Buffer>& names) {
        return issue_loads(body, loads, f, j, names);
      });
    };

    // Prologue.
    for (int p = 0; p < D; ++p) {
      out.push_back(IfThenElse::make(lt(i32(p), n), issue(i32(p), i32(p)), Stmt(), loc));
      out.push_back(commit(loc));
    }
    // Steady state: iteration j computes on slot j % S and refills slot (j + D) % S, the one
    // iteration j - 1 read (the barrier after the wait orders that read before the refill).
    const Expr j = Var::make(DType::i32, f->var.as<Var>()->name + "_j", VarKind::loop);
    std::vector<Stmt> it;
    it.push_back(wait(D - 1, loc));
    it.push_back(IfThenElse::make(lt(add(j, i32(D)), n),
                                  issue(add(j, i32(D)), mod(add(j, i32(D)), i32(S))), Stmt(), loc));
    it.push_back(commit(loc));
    it.push_back(with_views(mod(j, i32(S)), [&](const std::map<const BufferNode*, Buffer>& names) {
      return rewrite(compute_block, f->var, add(f->min, j), names);
    }));
    out.push_back(For::make(j, i32(0), n, ForKind::serial, Block::make(std::move(it), loc), loc));
    // Drain: nothing may be in flight, and the slots are free, after the loop.
    out.push_back(wait(0, loc));
    return Block::make(std::move(out), loc);
  }

  /** The steady state unrolled by `stages`, each slot its own buffer (the file comment's
   *  two-stage form). */
  Stmt unrolled(const For* f, const std::vector<Stmt>& body, const std::vector<std::size_t>& loads,
                const std::set<const BufferNode*>& tiles) {
    const int S = f->stages, D = S - 1;
    // Ring slots.
    std::vector<std::map<const BufferNode*, Buffer>> slot(S);
    std::vector<Stmt> out;
    for (std::size_t i : loads) {
      const Buffer& t = body[i].as<Copy>()->dst.buffer;
      for (int s = 0; s < S; ++s) {
        auto n = std::make_shared<BufferNode>(*t);
        n->name = fmt::format("{}_stage{}", t->name, s);
        slot[s][t.get()] = n;
        out.push_back(Allocate::make(n, t->loc));
      }
      replaced_.insert(t.get());
    }
    const Stmt compute_block = compute_of(f, body, loads, tiles);
    const SourceLoc& loc = f->loc;
    const Expr n = f->extent;

    auto issue = [&](const Expr& j, int s) { return issue_loads(body, loads, f, j, slot[s]); };

    // Prologue.
    for (int p = 0; p < D; ++p) {
      out.push_back(IfThenElse::make(lt(i32(p), n), issue(i32(p), p), Stmt(), loc));
      out.push_back(commit(loc));
    }
    // Steady state, unrolled by S so each slot is a constant.
    Expr q = Var::make(DType::i32, f->var.as<Var>()->name + "_q", VarKind::loop);
    std::vector<Stmt> steps;
    for (int s = 0; s < S; ++s) {
      Expr j = add(mul(q, i32(S)), i32(s));
      std::vector<Stmt> it;
      it.push_back(wait(D - 1, loc));
      it.push_back(
          IfThenElse::make(lt(add(j, i32(D)), n), issue(add(j, i32(D)), (s + D) % S), Stmt(), loc));
      it.push_back(commit(loc));
      it.push_back(rewrite(compute_block, f->var, add(f->min, j), slot[s]));
      steps.push_back(IfThenElse::make(lt(j, n), Block::make(std::move(it), loc), Stmt(), loc));
    }
    Expr trips = div(add(n, i32(D)), i32(S));
    out.push_back(
        For::make(q, i32(0), trips, ForKind::serial, Block::make(std::move(steps), loc), loc));
    // Drain: nothing may be in flight, and the slots are free, after the loop.
    out.push_back(wait(0, loc));
    return Block::make(std::move(out), loc);
  }

  const RefCounter& all_;
  std::set<const BufferNode*> replaced_;
};

} // namespace

Kernel pipeline_loops(Kernel kernel) {
  const RefCounter all = count_refs(kernel.body);
  Pipeliner pl(all);
  kernel.body = pl.mutate(kernel.body);
  return kernel;
}

} // namespace tessera::codegen
