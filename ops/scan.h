/** \file
 * The `cumsum` tile op: the inclusive prefix sum of a fragment along its last axis, row by row,
 * accumulated in f32 (f64 for f64). Atomic-free: a thread scans its own registers, the threads
 * combine their totals through shared memory (a Hillis–Steele scan, one barrier a round), and
 * a running carry links the register chunks of a row.
 */
#pragma once

#include "dsl/kernel_builder.h"
#include "ir/ir.h"
#include "ops/tile_op.h"

namespace tessera::ops {

struct Scan final : TileOpNode {
  ir::Buffer src, dst;

  Scan(ir::SourceLoc l, ir::Buffer s, ir::Buffer d)
      : TileOpNode(std::move(l)), src(std::move(s)), dst(std::move(d)) {}
  static ir::Stmt make(ir::Buffer src, ir::Buffer dst, ir::SourceLoc loc);

  std::string op_name() const override { return "cumsum"; }
  std::vector<ir::Operand> operands() const override;
  ir::Stmt rebuild(std::vector<ir::Region> operands, std::vector<ir::Expr> args) const override;
  void verify(const ir::VerifyContext& ctx) const override;
  void request_layouts(LayoutRequests& requests) const override;
  SharedEffects shared_effects(const LayoutMap& layouts) const override;
  ir::Stmt lower(LowerContext& ctx) const override;
};

} // namespace tessera::ops

namespace tessera::dsl {

/** dst[..., i] = src[..., 0] + ... + src[..., i] for whole fragments of one shape (dst may be
 *  src). Every thread of the block (or thread range) must reach it: it synchronises them. */
void cumsum(const TileRef& src, const TileRef& dst, Loc loc = Loc::current());

} // namespace tessera::dsl
