#include "ops/fill.h"

#include "base/error.h"
#include "ir/util.h"
#include "ir/verify_context.h"
#include "ops/lower_util.h"

#include <fmt/format.h>

namespace tessera::ops {

using namespace ir;

Stmt Fill::make(Buffer buffer, Expr value, SourceLoc loc) {
  return Stmt(std::make_shared<Fill>(std::move(loc), std::move(buffer), std::move(value)));
}

std::vector<Operand> Fill::operands() const {
  return {{Region::whole(buffer), Access::write}};
}

Stmt Fill::rebuild(std::vector<Region> operands, std::vector<Expr> args) const {
  return make(operands.at(0).buffer, std::move(args.at(0)), loc);
}

void Fill::verify(const VerifyContext& ctx) const {
  if (buffer->scope == Scope::global) {
    ctx.fail(loc, fmt::format("fill of global tensor '{}': fill() works on shared, fragment and "
                              "local buffers; fill a fragment and copy it out",
                              buffer->name));
  }
  ctx.check_writable(loc, buffer, "fill");
  ctx.check_value_type(loc, buffer, value, "fill");
}

Stmt Fill::lower(LowerContext& ctx) const {
  switch (buffer->scope) {
  case Scope::fragment: { // every register the thread holds
    const Buffer regs = ctx.registers(buffer);
    const Expr r = int_var("r_");
    return loop(r, const_numel(regs), true, Store::make(regs, {r}, value, loc), loc);
  }
  case Scope::local: { // every element, in a loop nest over the dimensions
    std::vector<Expr> idx;
    for (std::size_t d = 0; d < buffer->shape.size(); ++d) {
      idx.push_back(int_var(fmt::format("f{}_", d)));
    }
    Stmt s = Store::make(buffer, idx, value, loc);
    for (std::size_t d = buffer->shape.size(); d-- > 0;) {
      s = loop(idx[d], const_extent(buffer, static_cast<int>(d)), true, s, loc);
    }
    return s;
  }
  case Scope::shared: { // elements dealt round-robin to the threads
    const int threads = ctx.participants().threads;
    const std::int64_t n = const_numel(buffer);
    const Expr k = int_var("k_");
    Lets outer, inner;
    const Expr i = outer.bind("i_", add(mul(k, i32(threads)), ctx.tid()));
    const std::vector<Expr> idx = decompose(i, const_shape(buffer), "e", inner);
    Stmt body = inner.wrap(Store::make(buffer, idx, value, loc));
    if (n % threads != 0) {
      body = guard(lt(i, i32(n)), body, loc);
    }
    return rounds_loop(k, (n + threads - 1) / threads, outer.wrap(body), loc);
  }
  case Scope::global:
    break;
  }
  throw UserError(fmt::format("kernel '{}': fill() at {} of global tensor '{}' is not supported; "
                              "fill a fragment and copy it",
                              ctx.kernel_name(), loc.str(), buffer->name));
}

} // namespace tessera::ops

namespace tessera::dsl {

void fill(const TileRef& dst, Expr value, Loc loc) {
  if (dst.indexed() != 0) {
    throw UserError(fmt::format("{}: fill() takes a whole buffer ('{}')",
                                detail::error_context("fill", loc), dst.buffer()->name));
  }
  detail::emit(ops::Fill::make(dst.buffer(),
                               store_conversion(dst.buffer()->dtype, std::move(value)),
                               ir::SourceLoc::from(loc)),
               "fill");
}

void clear(const TileRef& dst, Loc loc) {
  fill(dst, Expr(0), loc);
}

} // namespace tessera::dsl
