/** \file
 * Pass: copy vectorization.
 */
#pragma once

#include "codegen/lowered.h"

namespace tessera::codegen {

/**
 * Picks, for every Copy touching global memory, the widest vector access (up to 16 bytes) that
 * is provably aligned: tensor base pointers are 16-byte aligned (the launcher checks it) and
 * rows are contiguous, so an access is aligned when the region's start along the last axis, the
 * row length (for tensors of rank > 1) and the per-thread run (the fragment's V) are all
 * multiples of the width. Global → shared copies of equal dtypes become cp.async. Copies the
 * pass cannot prove aligned stay scalar; bounds are checked by the emitter either way.
 */
LoweredKernel vectorize_copies(LoweredKernel lowered);

} // namespace tessera::codegen
