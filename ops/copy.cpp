#include "ops/copy.h"

#include "ir/verify_context.h"

#include <fmt/format.h>

namespace tessera::ops {

using namespace ir;

Stmt Copy::make(Region src, Region dst, SourceLoc loc) {
  return Stmt(std::make_shared<Copy>(std::move(loc), std::move(src), std::move(dst)));
}

std::vector<Operand> Copy::operands() const {
  return {{src, Access::read}, {dst, Access::write}};
}

Stmt Copy::rebuild(std::vector<Region> operands, std::vector<Expr> /*args*/) const {
  return make(std::move(operands.at(0)), std::move(operands.at(1)), loc);
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

} // namespace tessera::ops

namespace tessera::dsl {

void copy(const TileRef& src, const TileRef& dst, Loc loc) {
  detail::emit(ops::Copy::make(src.region(), dst.region(), ir::SourceLoc::from(loc)), "copy");
}

} // namespace tessera::dsl
