#include "ops/fill.h"

#include "base/error.h"
#include "ir/verify_context.h"

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

} // namespace tessera::ops

namespace tessera::dsl {

void fill(const TileRef& dst, Expr value, Loc loc) {
  if (dst.indexed() != 0) {
    throw UserError(fmt::format("{}: fill() takes a whole buffer ('{}')",
                                detail::error_context("fill", loc), dst.buffer()->name));
  }
  detail::emit(ops::Fill::make(dst.buffer(), cast(dst.buffer()->dtype, std::move(value)),
                               ir::SourceLoc::from(loc)),
               "fill");
}

void clear(const TileRef& dst, Loc loc) {
  fill(dst, Expr(0), loc);
}

} // namespace tessera::dsl
