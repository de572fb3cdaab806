// Tensor-core gemm lowering: validates a Gemm against the instruction shapes, picks the
// instruction path and warp arrangement, and emits one call of tessera::mma::gemm_ss (device
// side in codegen/cuda/prelude/tessera_mma.cuh), whose accumulator layout is MmaAccumulatorMap.
#include "codegen/cuda/gemm_lowering.h"

#include "base/error.h"
#include "codegen/cuda/gemm_layout.h"

#include <fmt/format.h>

namespace tessera::codegen {

namespace {

const char* cuda_elem(DType t) {
  switch (t) {
  case DType::bf16:
    return "__nv_bfloat16";
  case DType::f16:
    return "__half";
  case DType::f32:
    return "float";
  default:
    return nullptr;
  }
}

/** Everything the emission needs, checked. */
struct GemmShape {
  std::int64_t m = 0, n = 0, k = 0;
  std::int64_t lda = 0, ldb = 0; ///< row strides of the shared tiles (their last extent)
  MmaPath path = MmaPath::tf32;
};

[[noreturn]] void fail(const ir::Gemm& op, const std::string& kernel, const std::string& what) {
  throw UserError(fmt::format("kernel '{}': gemm({}, {}, {}) at {}: {}", kernel, op.a->name,
                              op.b->name, op.c->name, op.loc.str(), what));
}

GemmShape analyse(const ir::Gemm& op, const std::string& kernel) {
  GemmShape g;
  for (const ir::Buffer* b : {&op.a, &op.b, &op.c}) {
    if ((*b)->shape.size() != 2 || ir::const_extent(*b, 0) <= 0 || ir::const_extent(*b, 1) <= 0)
      fail(op, kernel, fmt::format("'{}' must be a 2-D tile with constant extents", (*b)->name));
  }
  for (const ir::Buffer* b : {&op.a, &op.b}) {
    if ((*b)->scope != ir::Scope::shared)
      fail(op, kernel,
           fmt::format("operand '{}' is a {} tile; the CUDA backend reads gemm operands from "
                       "shared memory (copy it into a shared() tile first)",
                       (*b)->name, ir::scope_name((*b)->scope)));
    if (cuda_elem((*b)->dtype) == nullptr)
      fail(op, kernel,
           fmt::format("operand '{}' has element type {}; gemm takes bf16, f16 or f32", (*b)->name,
                       dtype_name((*b)->dtype)));
  }
  if (op.c->scope != ir::Scope::fragment || op.c->dtype != DType::f32)
    fail(op, kernel, fmt::format("accumulator '{}' must be an f32 fragment", op.c->name));

  const std::int64_t a0 = ir::const_extent(op.a, 0), a1 = ir::const_extent(op.a, 1);
  const std::int64_t b0 = ir::const_extent(op.b, 0), b1 = ir::const_extent(op.b, 1);
  g.m = op.trans_a ? a1 : a0;
  g.k = op.trans_a ? a0 : a1;
  g.n = op.trans_b ? b0 : b1;
  const std::int64_t kb = op.trans_b ? b1 : b0;
  g.lda = a1;
  g.ldb = b1;
  if (kb != g.k)
    fail(op, kernel,
         fmt::format("inner dimensions differ ({} of '{}' vs {} of '{}')", g.k, op.a->name, kb,
                     op.b->name));
  if (ir::const_extent(op.c, 0) != g.m || ir::const_extent(op.c, 1) != g.n)
    fail(op, kernel,
         fmt::format("'{}' is {}x{} but the product is {}x{}", op.c->name,
                     ir::const_extent(op.c, 0), ir::const_extent(op.c, 1), g.m, g.n));

  const DType ta = op.a->dtype, tb = op.b->dtype;
  const bool both16 = (ta == DType::bf16 || ta == DType::f16) && tb == ta;
  if (both16) {
    g.path = ta == DType::bf16 ? MmaPath::bf16 : MmaPath::f16;
    // ldmatrix needs 16-byte rows; otherwise the tf32 path multiplies the same 16-bit values
    // exactly (they are representable in TF32), only with 8-deep instead of 16-deep k steps.
    if (g.lda % 8 != 0 || g.ldb % 8 != 0)
      g.path = MmaPath::tf32;
  } else {
    g.path = op.precision == ir::GemmPrecision::fp32 ? MmaPath::fp32 : MmaPath::tf32;
  }
  const MmaShape s = mma_shape(g.path);
  if (g.m % s.m != 0 || g.n % s.n != 0 || g.k % s.k != 0)
    fail(op, kernel,
         fmt::format("M x N x K = {} x {} x {} must be multiples of the {} instruction shape "
                     "{} x {} x {} (pad the tiles; copies from global memory zero-fill tails)",
                     g.m, g.n, g.k, mma_path_name(g.path), s.m, s.n, s.k));
  return g;
}

} // namespace

std::optional<Layout> gemm_fragment_layout(const ir::Gemm& op, const ir::Buffer& buffer,
                                           int threads, int begin) {
  if (buffer.get() != op.c.get())
    return std::nullopt;
  const GemmShape g = analyse(op, "<kernel>");
  if (threads % 32 != 0 || begin % 32 != 0)
    throw UserError(fmt::format("gemm into '{}' at {}: tensor-core gemm needs whole warps "
                                "(thread range [{}, {}) is not warp-aligned)",
                                op.c->name, op.loc.str(), begin, begin + threads));
  return mma_accumulator_layout(choose_mma_tiling(g.m, g.n, threads), begin);
}

std::string emit_gemm(const ir::Gemm& op, const EmitContext& ctx) {
  const std::string& kernel = ctx.lowered->kernel.name;
  const GemmShape g = analyse(op, kernel);
  const MmaTiling tiling = choose_mma_tiling(g.m, g.n, ctx.threads);
  const Layout& l = ctx.layout(op.c);
  const auto* map = dynamic_cast<const MmaAccumulatorMap*>(l.map.get());
  if (l.kind != LayoutKind::mapped || map == nullptr || !(map->tiling() == tiling))
    throw InternalError(
        fmt::format("kernel '{}': gemm accumulator '{}' at {} has layout {} instead "
                    "of the mma accumulator layout ({} threads)",
                    kernel, op.c->name, op.loc.str(), l.str(), ctx.threads));
  const std::string acc = ctx.buffer_ref(op.c);
  const std::string p = ctx.pad();
  std::string out;
  out += p + fmt::format("{{  // {} mma, warps {}x{}, warp tile {}x{}\n", mma_path_name(g.path),
                         tiling.warps_m, tiling.warps_n, tiling.warp_m(), tiling.warp_n());
  if (op.clear) {
    out += p + fmt::format("  #pragma unroll\n");
    out += p + fmt::format("  for (int r_ = 0; r_ < {}; ++r_) {}[r_] = 0.0f;\n", tiling.registers(),
                           acc);
  }
  out +=
      p + fmt::format("  tessera::mma::gemm_ss<{}, {}, {}, {}, {}, {}, {}, {}, {}, {}>(\n",
                      mma_path_cuda(g.path), g.m, g.n, g.k, tiling.warps_m, tiling.warps_n,
                      op.trans_a ? "true" : "false", op.trans_b ? "true" : "false", g.lda, g.ldb);
  out += p + fmt::format("      {}, {}, {}, ({}) >> 5, ({}) & 31);\n", acc, ctx.buffer_ref(op.a),
                         ctx.buffer_ref(op.b), ctx.tid, ctx.tid);
  out += p + "}\n";
  return out;
}

} // namespace tessera::codegen
