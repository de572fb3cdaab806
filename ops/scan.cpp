#include "ops/scan.h"

#include "base/error.h"
#include "ir/util.h"
#include "ir/verify_context.h"
#include "ops/lower_util.h"

#include <fmt/format.h>

namespace tessera::ops {

using namespace ir;

Stmt Scan::make(Buffer src, Buffer dst, SourceLoc loc) {
  return Stmt(std::make_shared<Scan>(std::move(loc), std::move(src), std::move(dst)));
}

std::vector<Operand> Scan::operands() const {
  return {{Region::whole(src), Access::read}, {Region::whole(dst), Access::write}};
}

Stmt Scan::rebuild(std::vector<Region> operands, std::vector<Expr> /*args*/) const {
  return make(operands.at(0).buffer, operands.at(1).buffer, loc);
}

void Scan::verify(const VerifyContext& ctx) const {
  for (const Buffer& b : {src, dst}) {
    if (b->scope != Scope::fragment) {
      ctx.fail(loc, fmt::format("cumsum of '{}' into '{}': {} must be a fragment", src->name,
                                dst->name, describe(b)));
    }
    if (!is_float(b->dtype)) {
      ctx.fail(loc, fmt::format("cumsum of '{}' into '{}': '{}' is {}, cumsum takes floating "
                                "point fragments",
                                src->name, dst->name, b->name, dtype_name(b->dtype)));
    }
  }
  if (const_shape(src) != const_shape(dst)) {
    ctx.fail(loc, fmt::format("cumsum of '{}' {} into '{}' {}: the shapes differ", src->name,
                              shape_string(const_shape(src)), dst->name,
                              shape_string(const_shape(dst))));
  }
  ctx.check_writable(loc, dst, "cumsum");
}

void Scan::request_layouts(LayoutRequests& requests) const {
  requests.distribute(src);
  requests.same_partition(src, dst); // register r of dst is the prefix ending at register r
}

SharedEffects Scan::shared_effects(const LayoutMap& layouts) const {
  SharedEffects e = TileOpNode::shared_effects(layouts);
  auto it = layouts.find(src.get());
  if (it != layouts.end() && it->second.kind == LayoutKind::distributed && it->second.threads > 1) {
    e.reads = e.writes = true; // the scratch of the cross-thread scan
  }
  return e;
}

namespace {

/** The scan of a replicated fragment: every thread runs every row in order. */
Stmt scan_replicated(const Buffer& sregs, const Buffer& dregs, const Layout& layout, DType acc_t,
                     DType out_t, const SourceLoc& loc) {
  const std::int64_t n = layout.shape.back();
  const std::int64_t rows = layout.numel() / n;
  const Buffer run = temp_buffer("run_", acc_t, {}, Scope::local);
  const Expr o = int_var("o_"), k = int_var("k_");
  const Expr reg = add(mul(o, i32(n)), k);
  const Stmt step = Block::make(
      {Store::make(run, {}, add(Load::make(run, {}), convert(Load::make(sregs, {reg}), acc_t)),
                   loc),
       Store::make(dregs, {reg}, convert(Load::make(run, {}), out_t), loc)},
      loc);
  return loop(o, rows, false,
              Block::make({Allocate::make(run, loc), Store::make(run, {}, zero(acc_t), loc),
                           loop(k, n, false, step, loc)},
                          loc),
              loc);
}

} // namespace

Stmt Scan::lower(LowerContext& ctx) const {
  auto fail = [&](const std::string& why) {
    throw UserError(fmt::format("kernel '{}': cumsum({} -> {}) at {}: {}", ctx.kernel_name(),
                                src->name, dst->name, loc.str(), why));
  };
  const Layout& ls = ctx.layout(src);
  const Layout& ld = ctx.layout(dst);
  if (ls.kind == LayoutKind::mapped || ld.kind == LayoutKind::mapped) {
    fail("tensor-core fragments cannot be scanned yet");
  }
  const DType acc_t = src->dtype == DType::f64 ? DType::f64 : DType::f32;
  const Buffer sregs = ctx.registers(src), dregs = ctx.registers(dst);
  if (ls.kind == LayoutKind::replicated || ld.kind == LayoutKind::replicated) {
    if (ls.kind != ld.kind) {
      fail("the source and destination must share one layout");
    }
    return scan_replicated(sregs, dregs, ls, acc_t, dst->dtype, loc);
  }
  if (!ls.same_partition(ld)) {
    fail("the destination must share the source's partition");
  }

  // Register r = (l * C + c) * V + v of thread t holds element (c * P + t) * V + v of row l: a
  // chunk c of a row is P consecutive V-runs, one per thread. Per chunk: each thread's run
  // total, an inclusive scan of the totals over the threads in shared memory, then each thread
  // rescans its run from carry + the totals before it. The carry adds up the chunks.
  const int P = ls.threads, V = ls.vec;
  const std::int64_t C = ls.chunks, lead = ls.lead_numel(), n = ls.last_extent();
  const bool full = n % (static_cast<std::int64_t>(P) * V) == 0;
  const Expr tid = ctx.tid();
  const Buffer carry = temp_buffer("carry_", acc_t, {lead}, Scope::local);
  const Buffer run = temp_buffer("run_", acc_t, {lead}, Scope::local);
  std::vector<Stmt> out{Allocate::make(carry, loc), Allocate::make(run, loc)};
  const Expr l = int_var("lead_"), c = int_var("c_"), v = int_var("v_");
  out.push_back(loop(l, lead, true, Store::make(carry, {l}, zero(acc_t), loc), loc));

  const Expr reg = add(mul(add(mul(l, i32(C)), c), i32(V)), v);
  const Expr element = add(mul(add(mul(c, i32(P)), tid), i32(V)), v);
  auto over_run = [&](const Stmt& body) { // body for each register of the run that holds one
    return loop(v, V, true, full ? body : guard(lt(element, i32(n)), body, loc), loc);
  };
  const Expr value = convert(Load::make(sregs, {reg}), acc_t);
  const Stmt accumulate = Store::make(run, {l}, add(Load::make(run, {l}), value), loc);
  const Stmt rescan = Block::make(
      {accumulate, Store::make(dregs, {reg}, convert(Load::make(run, {l}), dst->dtype), loc)}, loc);

  std::vector<Stmt> chunk;
  if (P == 1) { // one thread holds whole rows
    chunk.push_back(
        loop(l, lead, true,
             Block::make({Store::make(run, {l}, Load::make(carry, {l}), loc), over_run(rescan),
                          Store::make(carry, {l}, Load::make(run, {l}), loc)},
                         loc),
             loc));
  } else {
    // Two halves of scratch: round k reads half k % 2 and writes the other (Hillis–Steele).
    // Odd chunks use a second pair, so the next chunk's writes cannot race a slow thread's
    // reads of this one's result without a barrier of their own.
    const Buffer scratch = temp_buffer("scan_", acc_t, {(C > 1 ? 4 : 2) * lead * P}, Scope::shared);
    const Expr pair = C > 1 ? mul(mod(c, i32(2)), i32(2)) : i32(0);
    auto slot = [&](int half, const Expr& thread) {
      return add(mul(add(mul(add(pair, i32(half)), i32(lead)), l), i32(P)), thread);
    };
    out.push_back(Allocate::make(scratch, loc));
    chunk.push_back(
        loop(l, lead, true,
             Block::make({Store::make(run, {l}, zero(acc_t), loc), over_run(accumulate),
                          Store::make(scratch, {slot(0, tid)}, Load::make(run, {l}), loc)},
                         loc),
             loc));
    chunk.push_back(Barrier::make(loc));
    int half = 0;
    for (int d = 1; d < P; d *= 2, half ^= 1) {
      const Expr mine = Load::make(scratch, {slot(half, tid)});
      const Stmt step =
          Block::make({Store::make(scratch, {slot(half ^ 1, tid)}, mine, loc),
                       guard(le(i32(d), tid),
                             Store::make(scratch, {slot(half ^ 1, tid)},
                                         add(Load::make(scratch, {slot(half ^ 1, tid)}),
                                             Load::make(scratch, {slot(half, sub(tid, i32(d)))})),
                                         loc),
                             loc)},
                      loc);
      chunk.push_back(loop(l, lead, true, step, loc));
      chunk.push_back(Barrier::make(loc));
    }
    const Stmt before_me = Store::make(
        run, {l}, add(Load::make(run, {l}), Load::make(scratch, {slot(half, sub(tid, i32(1)))})),
        loc);
    chunk.push_back(loop(
        l, lead, true,
        Block::make(
            {Store::make(run, {l}, Load::make(carry, {l}), loc),
             guard(lt(i32(0), tid), before_me, loc), over_run(rescan),
             Store::make(carry, {l},
                         add(Load::make(carry, {l}), Load::make(scratch, {slot(half, i32(P - 1))})),
                         loc)},
            loc),
        loc));
  }
  out.push_back(loop(c, C, true, Block::make(std::move(chunk), loc), loc));
  return Block::make(std::move(out), loc);
}

} // namespace tessera::ops

namespace tessera::dsl {

void cumsum(const TileRef& src, const TileRef& dst, Loc loc) {
  if (src.indexed() != 0 || dst.indexed() != 0) {
    throw UserError(
        fmt::format("{}: cumsum() takes whole fragments", detail::error_context("cumsum", loc)));
  }
  detail::emit(ops::Scan::make(src.buffer(), dst.buffer(), ir::SourceLoc::from(loc)), "cumsum");
}

} // namespace tessera::dsl
