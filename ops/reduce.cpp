#include "ops/reduce.h"

#include "base/error.h"
#include "ir/util.h"
#include "ir/verify_context.h"
#include "ops/lower_util.h"

#include <fmt/format.h>
#include <functional>
#include <limits>

namespace tessera::ops {

using namespace ir;

const char* reduce_op_name(ReduceOp op) {
  switch (op) {
  case ReduceOp::sum:
    return "sum";
  case ReduceOp::max:
    return "max";
  case ReduceOp::min:
    return "min";
  case ReduceOp::absmax:
    return "absmax";
  }
  return "?";
}

Stmt Reduce::make(ReduceOp op, Buffer src, Buffer dst, int axis, bool clear, SourceLoc loc) {
  return Stmt(
      std::make_shared<Reduce>(std::move(loc), op, std::move(src), std::move(dst), axis, clear));
}

std::string Reduce::op_name() const {
  return std::string("reduce_") + reduce_op_name(op);
}

std::vector<Operand> Reduce::operands() const {
  return {{Region::whole(src), Access::read},
          {Region::whole(dst), clear ? Access::write : Access::read_write}};
}

std::vector<std::string> Reduce::attrs() const {
  std::vector<std::string> a{fmt::format("axis={}", axis)};
  if (clear) {
    a.emplace_back("clear");
  }
  return a;
}

Stmt Reduce::rebuild(std::vector<Region> operands, std::vector<Expr> /*args*/) const {
  return make(op, operands.at(0).buffer, operands.at(1).buffer, axis, clear, loc);
}

void Reduce::verify(const VerifyContext& ctx) const {
  const char* name = reduce_op_name(op);
  if (!is_tile_scope(src->scope)) {
    ctx.fail(loc, fmt::format("reduce_{} from {}: the source must be a fragment or shared buffer",
                              name, describe(src)));
  }
  if (dst->scope == Scope::global) {
    ctx.fail(loc, fmt::format("reduce_{} into {}: reduce into a fragment, shared or local buffer "
                              "and copy the result out",
                              name, describe(dst)));
  }
  if (src->dtype == DType::boolean || dst->dtype == DType::boolean) {
    ctx.fail(loc, fmt::format("reduce_{} from '{}' into '{}': booleans cannot be reduced", name,
                              src->name, dst->name));
  }
  if (is_float(src->dtype) && is_integer(dst->dtype)) {
    ctx.fail(loc, fmt::format("reduce_{} of {} into {} would truncate the {} result to {} "
                              "silently; reduce into a floating-point buffer and cast({}, ...) "
                              "the result explicitly",
                              name, describe(src), describe(dst), dtype_name(src->dtype),
                              dtype_name(dst->dtype), dtype_name(dst->dtype)));
  }
  std::vector<std::int64_t> src_shape, dst_shape;
  for (std::size_t d = 0; d < src->shape.size(); ++d) {
    src_shape.push_back(const_extent(src, static_cast<int>(d)));
  }
  for (std::size_t d = 0; d < dst->shape.size(); ++d) {
    dst_shape.push_back(const_extent(dst, static_cast<int>(d)));
  }
  if (axis < 0 || axis >= static_cast<int>(src_shape.size())) {
    ctx.fail(loc, fmt::format("reduce_{} of '{}' along axis {}: '{}' has rank {}", name, src->name,
                              axis, src->name, src_shape.size()));
  }
  auto expected = src_shape;
  expected.erase(expected.begin() + axis);
  if (dst_shape != expected) {
    ctx.fail(loc, fmt::format("reduce_{} of '{}' {} along axis {} gives shape {}, but '{}' has "
                              "shape {}",
                              name, src->name, shape_string(src_shape), axis,
                              shape_string(expected), dst->name, shape_string(dst_shape)));
  }
  ctx.check_writable(loc, dst, "reduce");
}

void Reduce::request_layouts(LayoutRequests& requests) const {
  // Along a leading axis each thread reduces the registers it holds: dst keeps src's partition.
  if (src->scope == Scope::fragment && dst->scope == Scope::fragment &&
      axis != static_cast<int>(src->shape.size()) - 1) {
    requests.same_partition(src, dst);
  }
}

// ---------------------------------------------------------------------------------------------
// Lowering:
//  * distributed source, last axis: per-thread partials over the registers each thread holds,
//    a warp butterfly all-reduce, then (more than one warp) a round through shared scratch so
//    every participating thread ends with every result;
//  * distributed source, a leading axis: register-local (the partition is unchanged);
//  * replicated source: every thread computes every result.
// ---------------------------------------------------------------------------------------------

namespace {

/** Independent partial sums a lone thread keeps per row: 32 like a warp, and 4 AVX2 vectors. */
constexpr std::int64_t kSerialLanes = 32;

/** Whether the reduction crosses threads (and, with more than one warp, shared memory). */
bool crosses_threads(const Reduce& op, const Layout& src) {
  return src.kind == LayoutKind::distributed &&
         op.axis == static_cast<int>(op.src->shape.size()) - 1;
}

DType accumulator_type(const Reduce& op) {
  return op.src->dtype == DType::f64 ? DType::f64 : DType::f32;
}

Expr identity(ReduceOp op, DType t) {
  switch (op) {
  case ReduceOp::sum:
  case ReduceOp::absmax:
    return FloatImm::make(t, 0.0);
  case ReduceOp::max:
    return FloatImm::make(t, -std::numeric_limits<double>::infinity());
  case ReduceOp::min:
    return FloatImm::make(t, std::numeric_limits<double>::infinity());
  }
  return FloatImm::make(t, 0.0);
}

Expr combine(ReduceOp op, const Expr& a, const Expr& b) {
  switch (op) {
  case ReduceOp::sum:
    return Binary::make(BinaryOp::Add, a, b);
  case ReduceOp::max:
  case ReduceOp::absmax:
    return Binary::make(BinaryOp::Max, a, b);
  case ReduceOp::min:
    return Binary::make(BinaryOp::Min, a, b);
  }
  return a;
}

/** What an element contributes (|x| for absmax), in the accumulation type. */
Expr term(ReduceOp op, const Expr& x, DType acc) {
  const Expr v = convert(x, acc);
  return op == ReduceOp::absmax ? Call::make(CallOp::abs, {v}) : v;
}

CallOp warp_op(ReduceOp op) {
  switch (op) {
  case ReduceOp::sum:
    return CallOp::warp_sum;
  case ReduceOp::max:
  case ReduceOp::absmax:
    return CallOp::warp_max;
  case ReduceOp::min:
    return CallOp::warp_min;
  }
  return CallOp::warp_sum;
}

} // namespace

SharedEffects Reduce::shared_effects(const LayoutMap& layouts) const {
  SharedEffects e = TileOpNode::shared_effects(layouts);
  auto it = layouts.find(src.get());
  if (it != layouts.end() && crosses_threads(*this, it->second) && it->second.threads > 32) {
    e.reads = e.writes = true; // the cross-warp scratch
  }
  return e;
}

Stmt Reduce::lower(LowerContext& ctx) const {
  auto fail = [&](const std::string& why) {
    throw UserError(fmt::format("kernel '{}': reduce_{}({} -> {}) at {}: {}", ctx.kernel_name(),
                                reduce_op_name(op), src->name, dst->name, loc.str(), why));
  };
  if (src->scope != Scope::fragment) {
    fail("the source must be a fragment");
  }
  if (dst->scope != Scope::fragment && dst->scope != Scope::local) {
    fail("the destination must be a fragment or local buffer");
  }
  const int rank = static_cast<int>(src->shape.size());
  const Layout& ls = ctx.layout(src);
  const Layout ld =
      dst->scope == Scope::fragment ? ctx.layout(dst) : Layout::replicated(const_shape(dst));
  if (ls.kind == LayoutKind::mapped || ld.kind == LayoutKind::mapped) {
    fail("tensor-core fragments cannot be reduced yet");
  }
  const DType acc_t = accumulator_type(*this);
  const Buffer sregs = ctx.registers(src);
  // dst element `linear` (row-major) combined with `value`, or replaced by it with clear.
  auto store = [&](const Expr& linear, const Expr& value) -> Stmt {
    Expr target;
    std::function<Stmt(const Expr&)> write;
    if (dst->scope == Scope::fragment) {
      const Buffer dregs = ctx.registers(dst);
      target = Load::make(dregs, {linear});
      write = [&, dregs](const Expr& v) { return Store::make(dregs, {linear}, v, loc); };
    } else {
      std::vector<Expr> idx;
      const std::vector<std::int64_t> shape = const_shape(dst);
      Expr rest = linear;
      for (std::size_t d = shape.size(); d-- > 0;) {
        idx.insert(idx.begin(), mod(rest, i32(shape[d])));
        rest = div(rest, i32(shape[d]));
      }
      target = Load::make(dst, idx);
      write = [&, idx](const Expr& v) { return Store::make(dst, idx, v, loc); };
    }
    return write(clear ? convert(value, dst->dtype)
                       : convert(combine(op, convert(target, acc_t), value), dst->dtype));
  };

  std::vector<Stmt> out;
  if (crosses_threads(*this, ls)) {
    // Per-thread partials, warp all-reduce, cross-warp through shared scratch.
    const std::int64_t lead = ls.lead_numel();
    const std::int64_t cv = ls.chunks * ls.vec;
    const bool full = ls.last_extent() % (static_cast<std::int64_t>(ls.threads) * ls.vec) == 0;
    const Buffer part = temp_buffer("part_", acc_t, {lead}, Scope::local);
    out.push_back(Allocate::make(part, loc));
    const Expr l = int_var("lead_"), r = int_var("r_");
    // One thread holding a whole row (a coarsened block) folds it into `lanes` independent
    // partials, the way a warp would: one running sum would be a serial dependence chain as
    // long as the row, which no CPU can vectorise without reassociating.
    const std::int64_t lanes = ls.threads == 1 && cv % kSerialLanes == 0 ? kSerialLanes : 1;
    const Buffer lane_part = lanes > 1 ? temp_buffer("lanes_", acc_t, {lanes}, Scope::local) : part;
    const Expr j = int_var("j_"), q = int_var("q_");
    const Expr x = term(op, Load::make(sregs, {add(mul(l, i32(cv)), r)}), acc_t);
    const Expr slot = lanes > 1 ? j : l;
    Stmt accumulate =
        Store::make(lane_part, {slot}, combine(op, Load::make(lane_part, {slot}), x), loc);
    if (!full) {
      // Register r holds element h = ((r / V) * P + t) * V + r % V; tail slots hold nothing.
      const Expr h =
          add(mul(add(mul(div(r, i32(ls.vec)), i32(ls.threads)), ctx.tid()), i32(ls.vec)),
              mod(r, i32(ls.vec)));
      accumulate = guard(lt(h, i32(ls.last_extent())), accumulate, loc);
    }
    std::vector<Stmt> row;
    if (lanes > 1) {
      out.push_back(Allocate::make(lane_part, loc));
      row.push_back(
          loop(j, lanes, true, Store::make(lane_part, {j}, identity(op, acc_t), loc), loc));
      // r = q * lanes + j with j innermost: consecutive registers feed consecutive partials.
      row.push_back(loop(
          q, cv / lanes, false,
          loop(j, lanes, true, LetStmt::make(r, add(mul(q, i32(lanes)), j), accumulate, loc), loc),
          loc));
      row.push_back(Store::make(part, {l}, Load::make(lane_part, {i32(0)}), loc));
      row.push_back(For::make(
          j, i32(1), i32(lanes - 1), ForKind::unrolled,
          Store::make(part, {l}, combine(op, Load::make(part, {l}), Load::make(lane_part, {j})),
                      loc),
          loc));
    } else {
      row.push_back(Store::make(part, {l}, identity(op, acc_t), loc));
      row.push_back(loop(r, cv, true, accumulate, loc));
    }
    if (ls.threads > 1) { // one thread (a coarsened block) already holds the whole row
      row.push_back(
          Store::make(part, {l}, Call::make(warp_op(op), {Load::make(part, {l}), i32(32)}), loc));
    }
    out.push_back(loop(l, lead, true, Block::make(std::move(row), loc), loc));
    if (ls.threads > 1 && ls.threads % 32 != 0) {
      fail(fmt::format("a reduction over {} threads needs a multiple of 32", ls.threads));
    }
    const int warps = std::max(1, ls.threads / 32);
    if (warps > 1) {
      const Buffer scratch = temp_buffer("scratch_", acc_t, {warps * lead}, Scope::shared);
      out.push_back(Allocate::make(scratch, loc));
      const Expr tid = ctx.tid();
      out.push_back(guard(eq(mod(tid, i32(32)), i32(0)),
                          loop(l, lead, true,
                               Store::make(scratch, {add(mul(div(tid, i32(32)), i32(lead)), l)},
                                           Load::make(part, {l}), loc),
                               loc),
                          loc));
      out.push_back(Barrier::make(loc));
      const Expr w = int_var("w_");
      const Stmt gather = Store::make(
          part, {l},
          combine(op, Load::make(part, {l}), Load::make(scratch, {add(mul(w, i32(lead)), l)})),
          loc);
      out.push_back(
          loop(l, lead, true,
               Block::make({Store::make(part, {l}, Load::make(scratch, {l}), loc),
                            For::make(w, i32(1), i32(warps - 1), ForKind::unrolled, gather, loc)},
                           loc),
               loc));
      // No barrier after the scratch reads: the barrier pass orders them before whatever
      // writes shared memory next (shared_effects says the reduction reads and writes it).
    }
    // Every thread has every result.
    for (std::int64_t i = 0; i < lead; ++i) {
      const Expr value = Load::make(part, {i32(i)});
      if (ld.kind == LayoutKind::distributed) {
        // Owner-predicated write at a constant register index.
        std::vector<std::int64_t> idx;
        std::int64_t rem = i;
        for (std::size_t d = ld.shape.size(); d-- > 0;) {
          idx.insert(idx.begin(), rem % ld.shape[d]);
          rem /= ld.shape[d];
        }
        const Slot slot = ld.locate(idx);
        out.push_back(guard(eq(ctx.tid(), i32(slot.thread)), store(i32(slot.reg), value), loc));
      } else {
        out.push_back(store(i32(i), value));
      }
    }
    return Block::make(std::move(out), loc);
  }

  std::int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) {
    outer *= ls.shape[d];
  }
  const std::int64_t k = ls.shape[axis];
  const Buffer acc = temp_buffer("acc_", acc_t, {}, Scope::local);
  const Expr o = int_var("o_"), kk = int_var("k_");
  if (ls.kind == LayoutKind::distributed) {
    // A leading axis: register-local, the destination shares the source's partition.
    if (ld.kind != LayoutKind::distributed || !ls.same_partition(ld)) {
      fail("the destination must share the source's partition");
    }
    for (int d = axis + 1; d < rank - 1; ++d) {
      inner *= ls.shape[d];
    }
    const std::int64_t cv = ls.chunks * ls.vec;
    const Expr r = int_var("r_");
    const Expr srow = add(mul(div(o, i32(inner)), i32(k * inner)), mod(o, i32(inner)));
    const Stmt body = Block::make(
        {Allocate::make(acc, loc), Store::make(acc, {}, identity(op, acc_t), loc),
         loop(kk, k, true,
              Store::make(
                  acc, {},
                  combine(op, Load::make(acc, {}),
                          term(op,
                               Load::make(sregs,
                                          {add(mul(add(srow, mul(kk, i32(inner))), i32(cv)), r)}),
                               acc_t)),
                  loc),
              loc),
         store(add(mul(o, i32(cv)), r), Load::make(acc, {}))},
        loc);
    return loop(o, outer * inner, true, loop(r, cv, true, body, loc), loc);
  }
  // Replicated source: every thread computes every result.
  if (ld.kind == LayoutKind::distributed) {
    fail("a replicated source cannot produce a distributed destination");
  }
  for (int d = axis + 1; d < rank; ++d) {
    inner *= ls.shape[d];
  }
  const Expr sidx =
      add(add(mul(div(o, i32(inner)), i32(k * inner)), mul(kk, i32(inner))), mod(o, i32(inner)));
  const Stmt body = Block::make(
      {Allocate::make(acc, loc), Store::make(acc, {}, identity(op, acc_t), loc),
       loop(kk, k, true,
            Store::make(
                acc, {},
                combine(op, Load::make(acc, {}), term(op, Load::make(sregs, {sidx}), acc_t)), loc),
            loc),
       store(o, Load::make(acc, {}))},
      loc);
  return loop(o, outer * inner, true, body, loc);
}

} // namespace tessera::ops

namespace tessera::dsl {

namespace {
void reduce(ops::ReduceOp op, const TileRef& src, const TileRef& dst, int axis, bool clear_dst,
            const Loc& loc) {
  if (src.indexed() != 0 || dst.indexed() != 0) {
    throw UserError(fmt::format("{}: reduce_{}() takes whole buffers",
                                detail::error_context("reduce", loc), ops::reduce_op_name(op)));
  }
  detail::emit(
      ops::Reduce::make(op, src.buffer(), dst.buffer(), axis, clear_dst, ir::SourceLoc::from(loc)),
      "reduce");
}
} // namespace

void reduce_sum(const TileRef& src, const TileRef& dst, int axis, bool c, Loc loc) {
  reduce(ops::ReduceOp::sum, src, dst, axis, c, loc);
}
void reduce_max(const TileRef& src, const TileRef& dst, int axis, bool c, Loc loc) {
  reduce(ops::ReduceOp::max, src, dst, axis, c, loc);
}
void reduce_min(const TileRef& src, const TileRef& dst, int axis, bool c, Loc loc) {
  reduce(ops::ReduceOp::min, src, dst, axis, c, loc);
}
void reduce_absmax(const TileRef& src, const TileRef& dst, int axis, bool c, Loc loc) {
  reduce(ops::ReduceOp::absmax, src, dst, axis, c, loc);
}

} // namespace tessera::dsl
