/** \file
 * The `reduce_*` tile ops: `dst = reduce(src, axis)` (with clear) or `dst op= reduce(src, axis)`,
 * for sum, max, min and absmax, accumulating in f32 (f64 for f64 sources).
 */
#pragma once

#include "dsl/kernel_builder.h"
#include "ir/ir.h"
#include "ops/tile_op.h"

namespace tessera::ops {

enum class ReduceOp : std::uint8_t { sum, max, min, absmax };
const char* reduce_op_name(ReduceOp op);

struct Reduce final : TileOpNode {
  ReduceOp op;
  ir::Buffer src, dst;
  int axis;
  bool clear;

  Reduce(ir::SourceLoc l, ReduceOp o, ir::Buffer s, ir::Buffer d, int a, bool c)
      : TileOpNode(std::move(l)), op(o), src(std::move(s)), dst(std::move(d)), axis(a), clear(c) {}
  static ir::Stmt make(ReduceOp op, ir::Buffer src, ir::Buffer dst, int axis, bool clear,
                       ir::SourceLoc loc);

  std::string op_name() const override;
  std::vector<ir::Operand> operands() const override;
  std::vector<std::string> attrs() const override;
  ir::Stmt rebuild(std::vector<ir::Region> operands, std::vector<ir::Expr> args) const override;
  void verify(const ir::VerifyContext& ctx) const override;
  void request_layouts(LayoutRequests& requests) const override;
  SharedEffects shared_effects(const LayoutMap& layouts) const override;
  ir::Stmt lower(LowerContext& ctx) const override;
};

} // namespace tessera::ops

namespace tessera::dsl {

/** dst = reduce(src, axis) (with clear) or dst op= reduce(src, axis). */
void reduce_sum(const TileRef& src, const TileRef& dst, int axis, bool clear = true,
                Loc loc = Loc::current());
void reduce_max(const TileRef& src, const TileRef& dst, int axis, bool clear = true,
                Loc loc = Loc::current());
void reduce_min(const TileRef& src, const TileRef& dst, int axis, bool clear = true,
                Loc loc = Loc::current());
void reduce_absmax(const TileRef& src, const TileRef& dst, int axis, bool clear = true,
                   Loc loc = Loc::current());

} // namespace tessera::dsl
