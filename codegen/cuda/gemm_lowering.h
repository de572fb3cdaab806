/** \file
 * The tensor-core gemm lowering's entry points, called by the CUDA emitter and the layout pass.
 * Owned by the gemm work; until it lands, gemm_lowering.cpp is a stub that refuses Gemm
 * statements with a clear UserError. See codegen/cuda/emit_context.h for the contract.
 */
#pragma once

#include "codegen/cuda/emit_context.h"
#include "ir/ir.h"
#include "ops/gemm.h"

#include <optional>
#include <string>

namespace tessera::codegen {

/** CUDA statements for one Gemm statement (see EmitContext for the contract). */
std::string emit_gemm(const ops::Gemm& op, const EmitContext& ctx);

} // namespace tessera::codegen
