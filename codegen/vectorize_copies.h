/** \file
 * Pass: copy vectorization.
 */
#pragma once

#include "ir/ir.h"

namespace tessera::codegen {

/**
 * Picks, for every Copy touching global memory, the widest vector access (up to 16 bytes) that
 * is provably aligned: tensor base pointers are 16-byte aligned (the launcher checks it) and
 * rows are contiguous, so an access is aligned when the region's start along the last axis, the
 * row length (for tensors of rank > 1) and the per-thread run (the fragment's V) are all
 * multiples of the width. Global → shared copies of equal dtypes become cp.async. The plan is
 * recorded on each Copy (ops::CopyPlan). Copies the pass cannot prove aligned stay scalar; bounds
 * are checked by the emitter either way.
 */
ir::Kernel vectorize_copies(ir::Kernel kernel);

} // namespace tessera::codegen
