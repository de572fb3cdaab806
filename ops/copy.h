/** \file
 * The `copy` tile op: a block-collective copy between two regions of equal shape, with element
 * type conversion (float → bf16/f16 rounds to nearest even). Global regions are clipped to the
 * tensor's bounds: source elements outside read as zero, destination elements outside are not
 * written, so tails are safe.
 */
#pragma once

#include "dsl/kernel_builder.h"
#include "ir/ir.h"
#include "ops/tile_op.h"

namespace tessera::ops {

struct Copy final : TileOpNode {
  ir::Region src, dst;

  Copy(ir::SourceLoc l, ir::Region s, ir::Region d)
      : TileOpNode(std::move(l)), src(std::move(s)), dst(std::move(d)) {}
  static ir::Stmt make(ir::Region src, ir::Region dst, ir::SourceLoc loc);

  std::string op_name() const override { return "copy"; }
  std::vector<ir::Operand> operands() const override;
  ir::Stmt rebuild(std::vector<ir::Region> operands, std::vector<ir::Expr> args) const override;
  void verify(const ir::VerifyContext& ctx) const override;
  void request_layouts(LayoutRequests& requests) const override;
};

} // namespace tessera::ops

namespace tessera::dsl {

/** Block-collective copy with dtype conversion; tails of global tensors are bounds-safe. */
void copy(const TileRef& src, const TileRef& dst, Loc loc = Loc::current());

} // namespace tessera::dsl
