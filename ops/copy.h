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

#include <optional>

namespace tessera::ops {

/** How a copy moves its elements (decided by codegen/vectorize_copies and pipeline_loops). */
struct CopyPlan {
  /** Elements per vector access on the global/shared side (1 = scalar accesses). */
  int vector_width = 1;
  /** Global → shared with equal dtypes as 16-byte-or-narrower cp.async. */
  bool async = false;
  /** A load of a software-pipelined loop (codegen/pipeline_loops.h): when it completes and
   *  becomes visible is the pipeline's business (its waits and barriers), not the copy's. */
  bool deferred = false;
  bool operator==(const CopyPlan&) const = default;
};

struct Copy final : TileOpNode {
  ir::Region src, dst;
  std::optional<CopyPlan> plan; ///< none until vectorize_copies

  Copy(ir::SourceLoc l, ir::Region s, ir::Region d, std::optional<CopyPlan> p)
      : TileOpNode(std::move(l)), src(std::move(s)), dst(std::move(d)), plan(p) {}
  static ir::Stmt make(ir::Region src, ir::Region dst, ir::SourceLoc loc,
                       std::optional<CopyPlan> plan = std::nullopt);
  /** This copy with `p` as its plan. */
  ir::Stmt with_plan(CopyPlan p) const;

  std::string op_name() const override { return "copy"; }
  std::vector<ir::Operand> operands() const override;
  ir::Stmt rebuild(std::vector<ir::Region> operands, std::vector<ir::Expr> args) const override;
  void verify(const ir::VerifyContext& ctx) const override;
  std::vector<std::string> attrs() const override;
  void request_layouts(LayoutRequests& requests) const override;
  SharedEffects shared_effects(const LayoutMap& layouts) const override;
  ir::Stmt lower(LowerContext& ctx) const override;
};

} // namespace tessera::ops

namespace tessera::dsl {

/** Block-collective copy with dtype conversion; tails of global tensors are bounds-safe. */
void copy(const TileRef& src, const TileRef& dst, Loc loc = Loc::current());

} // namespace tessera::dsl
