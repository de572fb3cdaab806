/** \file
 * The tensor-core gemm lowering's entry points, called by the CUDA emitter and the layout pass.
 * Owned by the gemm work; until it lands, gemm_lowering.cpp is a stub that refuses Gemm
 * statements with a clear UserError. See codegen/cuda/emit_context.h for the contract.
 */
#pragma once

#include "codegen/cuda/emit_context.h"
#include "ir/ir.h"
#include "ir/layout.h"

#include <optional>
#include <string>

namespace tessera::codegen {

/**
 * The layout the gemm lowering wants for the accumulator `op.c` (and, if it keeps operands in
 * registers, for fragment operands), over `threads` participating threads starting at `begin`.
 * nullopt: no preference (the layout pass decides). Throws UserError for unsupported shapes.
 */
std::optional<Layout> gemm_fragment_layout(const ir::Gemm& op, const ir::Buffer& buffer,
                                           int threads, int begin);

/** CUDA statements for one Gemm statement (see EmitContext for the contract). */
std::string emit_gemm(const ir::Gemm& op, const EmitContext& ctx);

} // namespace tessera::codegen
