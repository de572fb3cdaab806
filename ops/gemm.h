/** \file
 * The `gemm` tile op: C (+)= op(A) · op(B) on tiles, op = transpose when asked. A is M×K (K×M
 * transposed), B is K×N (N×K transposed), C an M×N f32 fragment. bf16/f16 operands use tensor
 * cores with f32 accumulation; f32 operands use TF32 tensor cores (operands rounded to TF32, to
 * nearest) unless `precision` asks for full fp32.
 */
#pragma once

#include "dsl/kernel_builder.h"
#include "ir/ir.h"
#include "ops/mma_layout.h"
#include "ops/tile_op.h"

namespace tessera::ops {

/** How f32 operands are multiplied. tf32: rounded to TF32 (10-bit mantissa), one tensor-core
 * product. fp32: FFMA, k in order (no tensor cores). tf32x3: fp32-accurate on tensor cores —
 * each f32 operand is split into TF32 parts hi + lo and hi·hi + hi·lo + lo·hi is accumulated
 * (a 16-bit operand is exact in TF32, so bf16 × f32 takes two products); each product is then
 * within 2⁻²¹ of the exact one instead of 2⁻¹⁰. */
enum class GemmPrecision : std::uint8_t { tf32, fp32, tf32x3 };

/** A gemm's shapes and instruction path, checked against the tensor-core instruction shapes. */
struct GemmShape {
  std::int64_t m = 0, n = 0, k = 0;
  std::int64_t lda = 0, ldb = 0; ///< row strides of the shared tiles (their last extent)
  MmaPath path = MmaPath::tf32;
};

struct Gemm;
/** The shapes and path of `op`; throws UserError naming `kernel` for shapes the lowering cannot
 *  take: operands not in shared memory, M and N not multiples of the instruction's (the
 *  accumulator layout needs them), and with `whole_k_steps` (tensor cores) K likewise. */
GemmShape gemm_shape(const Gemm& op, const std::string& kernel, bool whole_k_steps);

struct Gemm final : TileOpNode {
  ir::Buffer a, b, c;
  bool trans_a, trans_b, clear;
  GemmPrecision precision;

  Gemm(ir::SourceLoc l, ir::Buffer a_, ir::Buffer b_, ir::Buffer c_, bool ta, bool tb, bool cl,
       GemmPrecision p)
      : TileOpNode(std::move(l)), a(std::move(a_)), b(std::move(b_)), c(std::move(c_)), trans_a(ta),
        trans_b(tb), clear(cl), precision(p) {}
  static ir::Stmt make(ir::Buffer a, ir::Buffer b, ir::Buffer c, bool trans_a, bool trans_b,
                       bool clear, GemmPrecision precision, ir::SourceLoc loc);

  std::string op_name() const override { return "gemm"; }
  std::vector<ir::Operand> operands() const override;
  std::vector<std::string> attrs() const override;
  ir::Stmt rebuild(std::vector<ir::Region> operands, std::vector<ir::Expr> args) const override;
  void verify(const ir::VerifyContext& ctx) const override;
  void request_layouts(LayoutRequests& requests) const override;
  ir::Stmt lower(LowerContext& ctx) const override;
};

} // namespace tessera::ops

namespace tessera::dsl {

using GemmPrecision = ops::GemmPrecision;

struct GemmOptions {
  bool trans_a = false;
  bool trans_b = false;
  bool clear = false;
  GemmPrecision precision = GemmPrecision::tf32;
};
/** C (+)= A·B on tensor cores (A, B in shared memory or fragments; C an f32 fragment). */
void gemm(const TileRef& a, const TileRef& b, const TileRef& c, GemmOptions options = {},
          Loc loc = Loc::current());

} // namespace tessera::dsl
