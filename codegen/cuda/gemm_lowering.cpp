// Placeholder until the tensor-core gemm lowering lands (owned by the gemm work): gemm
// statements are refused with a clear error instead of being emitted wrongly.
#include "codegen/cuda/gemm_lowering.h"

#include "runtime/error.h"

#include <fmt/format.h>

namespace tessera::codegen {

std::optional<Layout> gemm_fragment_layout(const ir::Gemm& /*op*/, const ir::Buffer& /*buffer*/,
                                           int /*threads*/, int /*begin*/) {
  return std::nullopt;
}

std::string emit_gemm(const ir::Gemm& op, const EmitContext& ctx) {
  throw UserError(fmt::format("kernel '{}': gemm() at {} is not yet supported by the CUDA "
                              "backend (tensor-core lowering pending)",
                              ctx.lowered->kernel.name, op.loc.str()));
}

} // namespace tessera::codegen
