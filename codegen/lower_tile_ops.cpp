// Pass: tile ops, parallel loops and fragments → thread-level IR (see lower_tile_ops.h).
#include "codegen/lower_tile_ops.h"

#include "base/error.h"
#include "ir/layout.h"
#include "ir/printer.h"
#include "ir/util.h"
#include "ir/visitor.h"
#include "ops/lower_util.h"

#include <fmt/format.h>
#include <map>

namespace tessera::codegen {

using namespace ir;

namespace {

/** Inside a lowered parallel loop: how the loop's fragment accesses map to registers. */
struct Binding {
  ParallelPlan::Kind kind;
  Layout layout;
  std::vector<std::string> vars; ///< the DSL loop variables
  Expr c, v;                     ///< distributed: chunk and lane variables (c may be i32(0))
  Expr reg;                      ///< mapped: the register variable
};

class Lowerer final : public IRMutator, public ops::LowerContext {
public:
  Lowerer(const Kernel& k, const ops::TargetInfo& target)
      : kernel_(k), target_(target), participants_{k.threads, 0},
        tid_(Var::make(DType::i32, "thread_idx", VarKind::thread_idx)) {}

  // ops::LowerContext
  const std::string& kernel_name() const override { return kernel_.name; }
  const ops::TargetInfo& target() const override { return target_; }
  ops::Participants participants() const override { return participants_; }
  Expr tid() const override { return tid_; }
  const Layout& layout(const Buffer& b) const override {
    auto it = layouts_.find(b.get());
    if (it == layouts_.end()) {
      throw InternalError(fmt::format("lower_tile_ops: fragment '{}' has no layout", b->name));
    }
    return it->second;
  }
  Buffer registers(const Buffer& b) const override {
    auto it = registers_.find(b.get());
    if (it == registers_.end()) {
      throw InternalError(fmt::format("lower_tile_ops: fragment '{}' was not allocated", b->name));
    }
    return it->second;
  }

protected:
  Stmt mutate_allocate(const Allocate* op, const Stmt& s) override {
    const Buffer& b = op->buffer;
    if (b->scope != Scope::fragment) {
      return s;
    }
    if (!op->layout) {
      throw InternalError(fmt::format("lower_tile_ops: fragment '{}' has no layout", b->name));
    }
    layouts_[b.get()] = *op->layout;
    Buffer regs = temp_buffer(b->name, b->dtype, {op->layout->registers()}, Scope::local);
    std::const_pointer_cast<BufferNode>(regs)->internal = false; // the user's name
    registers_[b.get()] = regs;
    return Allocate::make(regs, op->loc, op->layout);
  }

  Stmt mutate_thread_range(const ThreadRange* op, const Stmt& s) override {
    const ops::Participants saved = participants_;
    const Expr saved_tid = tid_;
    participants_ = {op->end - op->begin, op->begin};
    tid_ = int_var(fmt::format("tid_{}_{}", op->begin, op->end));
    Stmt body = mutate(op->body);
    body = LetStmt::make(
        tid_, sub(Var::make(DType::i32, "thread_idx", VarKind::thread_idx), i32(op->begin)), body,
        op->loc);
    participants_ = saved;
    tid_ = saved_tid;
    return ThreadRange::make(op->begin, op->end, body, op->loc);
  }

  Stmt mutate_tile_op(const TileOp* op, const Stmt& s) override {
    // Fragment reads in region starts and arguments first; the operands stay the fragments.
    const Stmt pre = IRMutator::mutate_tile_op(op, s);
    const auto* node = pre.as<ops::TileOpNode>();
    if (node == nullptr) {
      throw InternalError("lower_tile_ops: tile op '" + op->op_name() + "' has no lowering");
    }
    return Block::make({node->lower(*this)}, op->loc, to_string(*op));
  }

  Stmt mutate_parallel(const Parallel* op, const Stmt& s) override {
    if (!op->plan) {
      throw InternalError("lower_tile_ops: parallel loop without a plan at " + op->loc.str());
    }
    const ParallelPlan& plan = *op->plan;
    std::vector<std::string> names;
    for (const Expr& v : op->vars) {
      names.push_back(v.as<Var>()->name);
    }
    const std::size_t n = op->vars.size();
    auto leading_loops = [&](Stmt body, std::size_t count) {
      for (std::size_t i = count; i-- > 0;) {
        body = ops::loop(op->vars[i], op->extents[i], true, body, op->loc);
      }
      return body;
    };
    Stmt out;
    switch (plan.kind) {
    case ParallelPlan::Kind::distributed: {
      // for chunk c: for the leading indices: for lane v: h = (c * P + t) * V + v; body
      // (lanes innermost: on a GPU everything unrolls, on a CPU that is the contiguous loop).
      const Layout& l = plan.layout;
      const std::string& h = names.back();
      Binding b{plan.kind,         l,     names, l.chunks > 1 ? int_var(h + "_c") : i32(0),
                int_var(h + "_v"), Expr()};
      bindings_.push_back(b);
      Stmt body = mutate(op->body);
      bindings_.pop_back();
      if (l.last_extent() % (static_cast<std::int64_t>(l.threads) * l.vec) != 0) {
        body = ops::guard(lt(op->vars.back(), i32(l.last_extent())), body, op->loc);
      }
      const Expr slot = add(mul(b.c, i32(l.threads)), tid_);
      body = LetStmt::make(op->vars.back(), add(mul(slot, i32(l.vec)), b.v), body, op->loc);
      body = ops::loop(b.v, l.vec, true, body, op->loc);
      body = leading_loops(body, n - 1);
      if (l.chunks > 1) {
        body = ops::loop(b.c, l.chunks, true, body, op->loc);
      }
      out = body;
      break;
    }
    case ParallelPlan::Kind::split: {
      std::int64_t total = 1;
      for (std::int64_t e : op->extents) {
        total *= e;
      }
      const int threads = participants_.threads;
      const Expr k = int_var(names.back() + "_k");
      ops::Lets outer;
      const Expr it = outer.bind(names.back() + "_it", add(mul(k, i32(threads)), tid_));
      Stmt body = mutate(op->body);
      std::int64_t inner = total;
      std::vector<std::pair<Expr, Expr>> lets;
      for (std::size_t i = 0; i < n; ++i) {
        inner /= op->extents[i];
        Expr v = div(it, i32(inner));
        if (i > 0) {
          v = mod(v, i32(op->extents[i]));
        }
        lets.emplace_back(op->vars[i], v);
      }
      for (auto l = lets.rbegin(); l != lets.rend(); ++l) {
        body = LetStmt::make(l->first, l->second, body, op->loc);
      }
      if (total % threads != 0) {
        body = ops::guard(lt(it, i32(total)), body, op->loc);
      }
      out = ops::rounds_loop(k, (total + threads - 1) / threads, outer.wrap(body), op->loc);
      break;
    }
    case ParallelPlan::Kind::replicated:
      out = leading_loops(mutate(op->body), n);
      break;
    case ParallelPlan::Kind::mapped: {
      // A loop over the registers of the mapped layout; the loop variables are the coordinates
      // of the element each register holds (FragmentMap::index).
      const Layout& l = plan.layout;
      const int owners = l.mapped_owners();
      Binding b{plan.kind, l, names, Expr(), Expr(), int_var("r_")};
      bindings_.push_back(b);
      Stmt body = mutate(op->body);
      bindings_.pop_back();
      const std::vector<Expr> coords = l.map->index(tid_, b.reg);
      for (std::size_t d = n; d-- > 0;) {
        body = LetStmt::make(op->vars[d], coords.at(d), body, op->loc);
      }
      out = ops::loop(b.reg, l.registers(), true, body, op->loc);
      if (owners < l.threads) {
        out = ops::guard(lt(tid_, i32(owners)), out, op->loc);
      }
      break;
    }
    }
    std::string vars;
    for (std::size_t i = 0; i < n; ++i) {
      vars += (i ? ", " : "") + names[i];
    }
    std::string extents;
    for (std::size_t i = 0; i < n; ++i) {
      extents += (i ? ", " : "") + std::to_string(op->extents[i]);
    }
    return Block::make({out}, op->loc,
                       fmt::format("parallel ({}) in [{}], {}", vars, extents, plan.str()));
  }

  Expr mutate_load(const Load* op, const Expr& e) override {
    Expr m = IRMutator::mutate_load(op, e);
    const Load* l = m.as<Load>();
    if (l->buffer->scope != Scope::fragment) {
      return m;
    }
    return Load::make(registers(l->buffer), {register_index(l->buffer, l->indices)});
  }

  Stmt mutate_store(const Store* op, const Stmt& s) override {
    Stmt m = IRMutator::mutate_store(op, s);
    const Store* st = m.as<Store>();
    if (st->buffer->scope != Scope::fragment) {
      return m;
    }
    return Store::make(registers(st->buffer), {register_index(st->buffer, st->indices)}, st->value,
                       st->loc);
  }

private:
  /** The register of fragment `b` that element `idx` is in, for the running thread. */
  Expr register_index(const Buffer& b, const std::vector<Expr>& idx) const {
    const Layout& l = layout(b);
    if (l.kind == LayoutKind::replicated) {
      return linear_index(idx, l.shape);
    }
    for (auto it = bindings_.rbegin(); it != bindings_.rend(); ++it) {
      if (!l.same_partition(it->layout)) {
        continue;
      }
      if (it->kind == ParallelPlan::Kind::mapped) {
        bool match = idx.size() == it->vars.size();
        for (std::size_t d = 0; match && d < idx.size(); ++d) {
          const Var* v = idx[d].as<Var>();
          match = v != nullptr && v->name == it->vars[d];
        }
        if (match) {
          return it->reg;
        }
        continue;
      }
      const Var* last = idx.back().as<Var>();
      if (last == nullptr || last->name != it->vars.back()) {
        continue;
      }
      // ((lead * C + c) * V + v)
      const Expr lead = linear_index(std::vector<Expr>(idx.begin(), idx.end() - 1),
                                     std::vector<std::int64_t>(l.shape.begin(), l.shape.end() - 1));
      return add(mul(add(mul(lead, i32(l.chunks)), it->c), i32(l.vec)), it->v);
    }
    throw InternalError(
        fmt::format("fragment '{}' ({}) accessed outside its partition", b->name, l.str()));
  }

  const Kernel& kernel_;
  const ops::TargetInfo& target_;
  ops::Participants participants_;
  Expr tid_;
  std::map<const BufferNode*, Layout> layouts_;
  std::map<const BufferNode*, Buffer> registers_;
  std::vector<Binding> bindings_;
};

} // namespace

Kernel lower_tile_ops(Kernel kernel, const ops::TargetInfo& target) {
  Lowerer lowerer(kernel, target);
  kernel.body = lowerer.mutate(kernel.body);
  return kernel;
}

} // namespace tessera::codegen
