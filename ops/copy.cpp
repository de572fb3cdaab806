#include "ops/copy.h"

#include "base/error.h"
#include "ir/util.h"
#include "ir/verify_context.h"
#include "ir/visitor.h"
#include "ops/lower_util.h"

#include <fmt/format.h>

namespace tessera::ops {

using namespace ir;

Stmt Copy::make(Region src, Region dst, SourceLoc loc, std::optional<CopyPlan> plan) {
  return Stmt(std::make_shared<Copy>(std::move(loc), std::move(src), std::move(dst), plan));
}

Stmt Copy::with_plan(CopyPlan p) const {
  return make(src, dst, loc, p);
}

std::vector<Operand> Copy::operands() const {
  return {{src, Access::read}, {dst, Access::write}};
}

std::vector<std::string> Copy::attrs() const {
  if (!plan) {
    return {};
  }
  std::vector<std::string> a{fmt::format("vec={}", plan->vector_width)};
  if (plan->async) {
    a.emplace_back("async");
  }
  if (plan->deferred) {
    a.emplace_back("deferred");
  }
  return a;
}

Stmt Copy::rebuild(std::vector<Region> operands, std::vector<Expr> /*args*/) const {
  return make(std::move(operands.at(0)), std::move(operands.at(1)), loc, plan);
}

SharedEffects Copy::shared_effects(const LayoutMap& layouts) const {
  SharedEffects e = TileOpNode::shared_effects(layouts);
  if (plan && plan->deferred) {
    e.writes = false; // the software pipeline's waits and barriers order this write
  }
  return e;
}

void Copy::verify(const VerifyContext& ctx) const {
  const Buffer& s = src.buffer;
  const Buffer& d = dst.buffer;
  ctx.check_region(loc, src, "copy", "source");
  ctx.check_region(loc, dst, "copy", "destination");
  if (s->scope == Scope::global && d->scope == Scope::global) {
    ctx.fail(loc, fmt::format("copy from global tensor '{}' to global tensor '{}': copies "
                              "between two global tensors are not supported; stage the tile "
                              "through a fragment or shared buffer",
                              s->name, d->name));
  }
  const auto src_shape = src.shape();
  const auto dst_shape = dst.shape();
  if (src_shape != dst_shape) {
    ctx.fail(loc, fmt::format("copy from '{}' to '{}': shapes {} and {} differ", s->name, d->name,
                              shape_string(src_shape), shape_string(dst_shape)));
  }
  if (is_float(s->dtype) && is_integer(d->dtype)) {
    ctx.fail(loc, fmt::format("copy from {} to {} would truncate {} to {} silently; copy into a "
                              "floating-point tile and store cast({}, ...) of its elements in a "
                              "parallel loop to convert explicitly, or declare '{}' with a "
                              "floating-point type",
                              describe(s), describe(d), dtype_name(s->dtype), dtype_name(d->dtype),
                              dtype_name(d->dtype), d->name));
  }
  ctx.check_writable(loc, d, "copy");
}

void Copy::request_layouts(LayoutRequests& requests) const {
  const Buffer& a = src.buffer;
  const Buffer& b = dst.buffer;
  for (const auto& [frag, other] : {std::pair{a, b}, std::pair{b, a}}) {
    if (frag->scope == Scope::fragment && other->scope == Scope::global) {
      requests.global_access(frag, static_cast<int>(dtype_size(other->dtype)));
    }
  }
  // A whole-fragment copy between fragments is register to register when both share a partition.
  if (a->scope == Scope::fragment && b->scope == Scope::fragment && src.shape() == dst.shape() &&
      a->shape.size() == b->shape.size()) {
    requests.same_partition(a, b);
  }
}

// ---------------------------------------------------------------------------------------------
// Lowering. Whichever side decides who holds what drives the copy: a mapped fragment (each
// thread moves its registers, coordinates from the map), a distributed fragment (each thread
// moves its own vectors, with vector accesses where vectorize_copies proved alignment), a
// replicated fragment or local (every thread moves every element), or neither (elements dealt
// round-robin to the threads in runs of the vector width; cp.async for global → shared).
// Global elements outside the tensor read as zero and are never written.
// ---------------------------------------------------------------------------------------------

namespace {

bool has_layout(const LowerContext& ctx, const Buffer& b, LayoutKind kind) {
  return b->scope == Scope::fragment && ctx.layout(b).kind == kind;
}

bool per_thread(const LowerContext& ctx, const Buffer& b) {
  return b->scope == Scope::local || has_layout(ctx, b, LayoutKind::replicated);
}

/** Whether a region's position depends on the thread (its starts read thread_idx). */
bool thread_dependent(const Region& r) {
  class Finder : public IRVisitor {
  public:
    bool found = false;
    void visit_var(const Var* v) override { found = found || v->var_kind == VarKind::thread_idx; }
    void check(const Region& region) { visit_region(region); }
  };
  Finder f;
  f.check(r);
  return f.found;
}

class CopyLowering {
public:
  CopyLowering(const Copy& op, LowerContext& ctx)
      : op_(op), ctx_(ctx), shape_(op.src.shape()), plan_(op.plan.value_or(CopyPlan{})) {}

  Stmt run() {
    const Buffer& s = op_.src.buffer;
    const Buffer& d = op_.dst.buffer;
    if (has_layout(ctx_, s, LayoutKind::mapped)) {
      return mapped(op_.src, op_.dst, true);
    }
    if (has_layout(ctx_, d, LayoutKind::mapped)) {
      return mapped(op_.dst, op_.src, false);
    }
    if (has_layout(ctx_, d, LayoutKind::distributed)) {
      return distributed(op_.dst, op_.src, false);
    }
    if (has_layout(ctx_, s, LayoutKind::distributed)) {
      return distributed(op_.src, op_.dst, true);
    }
    if (per_thread(ctx_, d)) {
      return every_thread();
    }
    if (per_thread(ctx_, s)) {
      // A local copied to a place that depends on the thread is the thread's own data (each
      // thread stores its registers); otherwise the source is uniform and the threads share out
      // the elements.
      return s->scope == Scope::local && thread_dependent(op_.dst) ? every_thread()
                                                                   : owner_writes();
    }
    return split();
  }

private:
  [[noreturn]] void unsupported(const std::string& what) const {
    throw UserError(fmt::format("kernel '{}': {} at {} is not supported", ctx_.kernel_name(), what,
                                op_.loc.str()));
  }

  Expr load(const Buffer& b, const std::vector<Expr>& idx) const {
    return load_element(ctx_, b, idx);
  }
  Stmt store(const Buffer& b, const std::vector<Expr>& idx, const Expr& v) const {
    return store_element(ctx_, b, idx, v, op_.loc);
  }
  /** `value` zero-filled where `cond` is false (no access then: Select evaluates one arm). */
  static Expr zero_fill(const Expr& cond, const Expr& value) {
    return cond.defined() ? Select::make(cond, value, zero(value.type())) : value;
  }

  /** The mapped fragment (tensor-core accumulator) side: one register at a time. */
  Stmt mapped(const Region& frag, const Region& other, bool frag_is_src) {
    const Layout& l = ctx_.layout(frag.buffer);
    if (!is_whole(frag)) {
      unsupported(fmt::format("a copy of part of tensor-core fragment '{}'", frag.buffer->name));
    }
    const Buffer& ob = other.buffer;
    const bool other_regs =
        ob->scope == Scope::fragment && ctx_.layout(ob).kind != LayoutKind::replicated;
    if (other_regs && !l.same_partition(ctx_.layout(ob))) {
      // The layout pass stages such copies through shared memory; reaching here is a bug.
      throw InternalError(fmt::format("copy between '{}' ({}) and '{}' ({}) at {}",
                                      frag.buffer->name, l.str(), ob->name, ctx_.layout(ob).str(),
                                      op_.loc.str()));
    }
    const Buffer regs = ctx_.registers(frag.buffer);
    const DType ft = frag.buffer->dtype, ot = ob->dtype;
    const Expr r = int_var("r_");
    Stmt body;
    if (other_regs) {
      const Buffer oregs = ctx_.registers(ob);
      body = frag_is_src ? Store::make(oregs, {r}, convert(Load::make(regs, {r}), ot), op_.loc)
                         : Store::make(regs, {r}, convert(Load::make(oregs, {r}), ft), op_.loc);
    } else {
      Lets lets;
      std::vector<Expr> e;
      const std::vector<Expr> coords = l.map->index(ctx_.tid(), r);
      for (std::size_t d = 0; d < coords.size(); ++d) {
        e.push_back(lets.bind(fmt::format("e{}_", d), coords[d]));
      }
      const std::vector<Expr> oidx = region_indices(other, e);
      const Expr cond = in_bounds(other, oidx);
      body = frag_is_src
                 ? guard(cond, store(ob, oidx, convert(Load::make(regs, {r}), ot)), op_.loc)
                 : Store::make(regs, {r}, zero_fill(cond, convert(load(ob, oidx), ft)), op_.loc);
      body = lets.wrap(body);
    }
    Stmt s = loop(r, l.registers(), true, body, op_.loc);
    const int owners = l.mapped_owners();
    return owners < l.threads ? guard(lt(ctx_.tid(), i32(owners)), s, op_.loc) : s;
  }

  /** The distributed fragment side: each thread moves the vectors it owns. */
  Stmt distributed(const Region& frag, const Region& other, bool frag_is_src) {
    const Layout& l = ctx_.layout(frag.buffer);
    if (!is_whole(frag)) {
      unsupported(fmt::format("a copy of part of distributed fragment '{}'", frag.buffer->name));
    }
    const Buffer& ob = other.buffer;
    const bool other_distributed = has_layout(ctx_, ob, LayoutKind::distributed);
    if (other_distributed && !l.same_partition(ctx_.layout(ob))) {
      unsupported("a copy between fragments of different partitions");
    }
    const Buffer regs = ctx_.registers(frag.buffer);
    const DType ft = frag.buffer->dtype, ot = ob->dtype;
    const std::int64_t lead_n = l.lead_numel(), L = l.last_extent();
    const bool full = L % (static_cast<std::int64_t>(l.threads) * l.vec) == 0;
    const Expr c = l.chunks > 1 ? int_var("c_") : i32(0);
    const Expr lead = lead_n > 1 ? int_var("lead_") : i32(0);
    const Expr h = int_var("h_");
    const Expr h_value = mul(add(mul(c, i32(l.threads)), ctx_.tid()), i32(l.vec));
    Lets lead_lets;
    std::vector<Expr> e = decompose(
        lead, std::vector<std::int64_t>(l.shape.begin(), l.shape.end() - 1), "e", lead_lets);
    const Expr row = add(mul(lead, i32(l.chunks)), c);
    auto reg = [&](const Expr& v) { return add(mul(row, i32(l.vec)), v); };

    auto elementwise = [&]() -> Stmt {
      const Expr v = int_var("v_");
      std::vector<Expr> ev = e;
      ev.push_back(add(h, v));
      const Expr in_row = full ? Expr() : lt(add(h, v), i32(L));
      Stmt body;
      if (other_distributed) {
        const Buffer oregs = ctx_.registers(ob);
        body = frag_is_src
                   ? Store::make(oregs, {reg(v)}, convert(Load::make(regs, {reg(v)}), ot), op_.loc)
                   : Store::make(regs, {reg(v)}, convert(Load::make(oregs, {reg(v)}), ft), op_.loc);
        return loop(v, l.vec, true, guard(in_row, body, op_.loc), op_.loc);
      }
      const std::vector<Expr> oidx = region_indices(other, ev);
      const Expr ob_in = in_bounds(other, oidx);
      if (frag_is_src) {
        body = guard(land(in_row, ob_in), store(ob, oidx, convert(Load::make(regs, {reg(v)}), ot)),
                     op_.loc);
      } else {
        body = guard(
            in_row,
            Store::make(regs, {reg(v)}, zero_fill(ob_in, convert(load(ob, oidx), ft)), op_.loc),
            op_.loc);
      }
      return loop(v, l.vec, true, body, op_.loc);
    };

    Stmt body;
    const int w = plan_.vector_width;
    if (w > 1 && ob->scope == Scope::global) {
      std::vector<Expr> ev = e;
      const Expr sv = w < l.vec ? int_var("s_") : i32(0);
      ev.push_back(add(h, mul(sv, i32(w))));
      const std::vector<Expr> oidx = region_indices(other, ev);
      Expr cond = full ? Expr() : le(add(h, i32(l.vec)), i32(L));
      std::vector<Expr> row_idx = e;
      row_idx.push_back(h);
      cond = land(cond, in_bounds(other, region_indices(other, row_idx), l.vec));
      const Expr first = reg(mul(sv, i32(w)));
      Stmt vec = frag_is_src ? VectorCopy::make(ob, oidx, regs, {first}, w, false, op_.loc)
                             : VectorCopy::make(regs, {first}, ob, oidx, w, false, op_.loc);
      if (w < l.vec) {
        vec = loop(sv, l.vec / w, true, vec, op_.loc);
      }
      body = cond.defined() ? IfThenElse::make(cond, vec, elementwise(), op_.loc) : vec;
    } else {
      body = elementwise();
    }
    body = lead_lets.wrap(body);
    if (lead_n > 1) {
      body = loop(lead, lead_n, true, body, op_.loc);
    }
    body = LetStmt::make(h, h_value, body, op_.loc);
    if (l.chunks > 1) {
      body = loop(c, l.chunks, true, body, op_.loc);
    }
    return body;
  }

  /** The region indices of run `i` (runs of `w` elements along the last axis, `runs` per
   *  row): the leading indices, then the run's first element. */
  std::vector<Expr> run_indices(const Expr& i, std::int64_t runs, int w, Lets& lets) const {
    std::vector<Expr> e;
    if (!shape_.empty()) {
      const Expr lead = lets.bind("lead_", div(i, i32(runs)));
      const Expr h = lets.bind("h_", mul(mod(i, i32(runs)), i32(w)));
      e = decompose(lead, std::vector<std::int64_t>(shape_.begin(), shape_.end() - 1), "e", lets);
      e.push_back(h);
    }
    return e;
  }

  /** Every thread moves every element: into a replicated fragment or local, or from a local to
   *  a thread-dependent place (the thread's own elements). Runs of the plan's vector width become
   *  one vector access where the run lies inside the tensor; elements outside read as zero and
   *  are never written. */
  Stmt every_thread() {
    const Buffer& sb = op_.src.buffer;
    const Buffer& db = op_.dst.buffer;
    // Vector runs move between memory and a local's registers; a replicated fragment's registers
    // are reached element by element.
    const int w = shape_.empty() || sb->scope == Scope::fragment || db->scope == Scope::fragment
                      ? 1
                      : plan_.vector_width;
    const std::int64_t L = shape_.empty() ? 1 : shape_.back();
    const std::int64_t runs = (L + w - 1) / w;
    const Expr i = int_var("i_");
    Lets lets;
    std::vector<Expr> e = run_indices(i, runs, w, lets);
    auto element = [&](const std::vector<Expr>& ek) -> Stmt {
      const std::vector<Expr> sidx = region_indices(op_.src, ek);
      const std::vector<Expr> didx = region_indices(op_.dst, ek);
      const Expr value = zero_fill(in_bounds(op_.src, sidx), convert(load(sb, sidx), db->dtype));
      return guard(in_bounds(op_.dst, didx), store(db, didx, value), op_.loc);
    };
    Stmt body;
    if (w == 1) {
      body = element(e);
    } else {
      const Expr j = int_var("j_");
      std::vector<Expr> ej = e;
      ej.back() = add(ej.back(), j);
      Stmt scalar = element(ej);
      if (L % w != 0) {
        scalar = guard(lt(ej.back(), i32(L)), scalar, op_.loc);
      }
      scalar = loop(j, w, true, scalar, op_.loc);
      const std::vector<Expr> sidx = region_indices(op_.src, e);
      const std::vector<Expr> didx = region_indices(op_.dst, e);
      Expr cond = L % w != 0 ? le(add(e.back(), i32(w)), i32(L)) : Expr();
      cond = land(land(cond, in_bounds(op_.src, sidx, w)), in_bounds(op_.dst, didx, w));
      const Stmt vec = VectorCopy::make(db, didx, sb, sidx, w, false, op_.loc);
      body = cond.defined() ? IfThenElse::make(cond, vec, scalar, op_.loc) : vec;
    }
    body = lets.wrap(body);
    return loop(i, region_numel(op_.src) / std::max<std::int64_t>(L, 1) * runs, true, body,
                op_.loc);
  }

  /** Replicated/local source into global or shared: element i is written by thread i % P. */
  Stmt owner_writes() {
    const Expr i = int_var("i_");
    Lets lets;
    const std::vector<Expr> e = decompose(i, shape_, "e", lets);
    const std::vector<Expr> didx = region_indices(op_.dst, e);
    const Expr value =
        convert(load(op_.src.buffer, region_indices(op_.src, e)), op_.dst.buffer->dtype);
    Stmt body =
        lets.wrap(guard(in_bounds(op_.dst, didx), store(op_.dst.buffer, didx, value), op_.loc));
    body = guard(eq(mod(i, i32(ctx_.participants().threads)), ctx_.tid()), body, op_.loc);
    return loop(i, region_numel(op_.src), true, body, op_.loc);
  }

  /** Global/shared on both sides: runs of w elements dealt round-robin to the threads. */
  Stmt split() {
    const std::int64_t L = shape_.empty() ? 1 : shape_.back();
    const int w = plan_.vector_width;
    const std::int64_t runs = (L + w - 1) / w;
    const std::int64_t total = region_numel(op_.src) / L * runs;
    const int threads = ctx_.participants().threads;
    const Expr k = int_var("k_");
    Lets outer, lets;
    const Expr i = outer.bind("i_", add(mul(k, i32(threads)), ctx_.tid()));
    std::vector<Expr> e = run_indices(i, runs, w, lets);
    const DType st = op_.src.buffer->dtype, dt = op_.dst.buffer->dtype;
    auto scalar = [&]() -> Stmt {
      const Expr kk = w > 1 ? int_var("j_") : i32(0);
      std::vector<Expr> ek = e;
      if (!ek.empty()) {
        ek.back() = add(ek.back(), kk);
      }
      const std::vector<Expr> s = region_indices(op_.src, ek);
      const std::vector<Expr> d = region_indices(op_.dst, ek);
      Expr cond = w > 1 && L % w != 0 ? lt(ek.back(), i32(L)) : Expr();
      cond = land(cond, in_bounds(op_.dst, d));
      Stmt body =
          guard(cond,
                store(op_.dst.buffer, d,
                      zero_fill(in_bounds(op_.src, s), convert(load(op_.src.buffer, s), dt))),
                op_.loc);
      return w > 1 ? loop(kk, w, true, body, op_.loc) : body;
    };
    Stmt body;
    if (w == 1) {
      body = scalar();
    } else {
      const std::vector<Expr> sidx = region_indices(op_.src, e);
      const std::vector<Expr> didx = region_indices(op_.dst, e);
      Expr cond = L % w != 0 ? le(add(e.back(), i32(w)), i32(L)) : Expr();
      cond = land(land(cond, in_bounds(op_.src, sidx, w)), in_bounds(op_.dst, didx, w));
      const bool async = plan_.async && st == dt;
      Stmt vec = VectorCopy::make(op_.dst.buffer, didx, op_.src.buffer, sidx, w, async, op_.loc);
      body = cond.defined() ? IfThenElse::make(cond, vec, scalar(), op_.loc) : vec;
    }
    body = lets.wrap(body);
    if (total % threads != 0) {
      body = guard(lt(i, i32(total)), body, op_.loc);
    }
    Stmt out = rounds_loop(k, (total + threads - 1) / threads, outer.wrap(body), op_.loc,
                           plan_.async && st == dt);
    if (plan_.async && !plan_.deferred && st == dt) {
      out = Block::make({out, AsyncWait::make(AsyncWait::kAll, op_.loc)}, op_.loc);
    }
    return out;
  }

  const Copy& op_;
  LowerContext& ctx_;
  std::vector<std::int64_t> shape_;
  CopyPlan plan_;
};

} // namespace

Stmt Copy::lower(LowerContext& ctx) const {
  if (src.shape() != dst.shape()) {
    throw UserError(fmt::format("kernel '{}': copy at {} between regions of different shapes",
                                ctx.kernel_name(), loc.str()));
  }
  return CopyLowering(*this, ctx).run();
}

} // namespace tessera::ops

namespace tessera::dsl {

void copy(const TileRef& src, const TileRef& dst, Loc loc) {
  detail::emit(ops::Copy::make(src.region(), dst.region(), ir::SourceLoc::from(loc)), "copy");
}

} // namespace tessera::dsl
