/** \file
 * The `fill` tile op: every element of a shared, fragment or local buffer set to one value.
 */
#pragma once

#include "dsl/kernel_builder.h"
#include "ir/ir.h"
#include "ops/tile_op.h"

namespace tessera::ops {

struct Fill final : TileOpNode {
  ir::Buffer buffer;
  ir::Expr value;

  Fill(ir::SourceLoc l, ir::Buffer b, ir::Expr v)
      : TileOpNode(std::move(l)), buffer(std::move(b)), value(std::move(v)) {}
  static ir::Stmt make(ir::Buffer buffer, ir::Expr value, ir::SourceLoc loc);

  std::string op_name() const override { return "fill"; }
  std::vector<ir::Operand> operands() const override;
  std::vector<ir::Expr> args() const override { return {value}; }
  ir::Stmt rebuild(std::vector<ir::Region> operands, std::vector<ir::Expr> args) const override;
  void verify(const ir::VerifyContext& ctx) const override;
  ir::Stmt lower(LowerContext& ctx) const override;
};

} // namespace tessera::ops

namespace tessera::dsl {

/** Sets every element of a whole shared, fragment or local buffer to `value`. */
void fill(const TileRef& dst, Expr value, Loc loc = Loc::current());
/** fill with zero. */
void clear(const TileRef& dst, Loc loc = Loc::current());

} // namespace tessera::dsl
