// Tensor-core gemm lowering: validates a Gemm against the instruction shapes, picks the
// instruction path and warp arrangement, and emits one call of tessera::mma::gemm_ss (device
// side in codegen/cuda/prelude/tessera_mma.cuh), whose accumulator layout is MmaAccumulatorMap.
#include "codegen/cuda/gemm_lowering.h"

#include "base/error.h"
#include "ops/mma_layout.h"

#include <fmt/format.h>

namespace tessera::codegen {

using namespace ops;

std::string emit_gemm(const ops::Gemm& op, const EmitContext& ctx) {
  const std::string& kernel = ctx.lowered->kernel.name;
  const ops::GemmShape g = ops::gemm_shape(op, kernel);
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
