/** \file
 * The targets the lowering passes know (ops::TargetInfo): what differs between a CUDA GPU and
 * the host CPU at the thread level. Everything else is lowered the same way for both.
 */
#pragma once

#include "ops/tile_op.h"

namespace tessera::codegen {

/** CUDA GPUs (sm_80+): mma.sync tensor cores, cp.async. */
const ops::TargetInfo& cuda_target();
/** The host CPU (the LLVM backend): no tensor cores; asynchronous copies run synchronously. */
const ops::TargetInfo& cpu_target();

} // namespace tessera::codegen
