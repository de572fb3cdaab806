#include "ops/reduce.h"

#include "base/error.h"
#include "ir/verify_context.h"

#include <fmt/format.h>

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
