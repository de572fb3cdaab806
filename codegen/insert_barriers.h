/** \file
 * Pass: barrier insertion.
 */
#pragma once

#include "codegen/lowered.h"

namespace tessera::codegen {

/**
 * Inserts a Barrier wherever one group of threads may read shared memory another group wrote
 * (or overwrite what another group may still read) since the last barrier, including across
 * loop iterations. Shared memory is one resource (the plan reuses bytes). Barriers inside a
 * thread_range synchronise only its threads (the emitter uses a named barrier); hazards between
 * a thread range and the rest of the block get a block-wide barrier before the range.
 * Cross-warp reductions synchronise internally.
 */
LoweredKernel insert_barriers(LoweredKernel lowered);

} // namespace tessera::codegen
