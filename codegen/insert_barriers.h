/** \file
 * Pass: barrier insertion.
 */
#pragma once

#include "ir/ir.h"

namespace tessera::codegen {

/**
 * Inserts a Barrier wherever one group of threads may read shared memory another group wrote
 * (or overwrite what another group may still read) since the last barrier, including across
 * loop iterations. Shared memory is one resource (the plan reuses bytes). Barriers inside a
 * thread_range synchronise only its threads (the emitter uses a named barrier); hazards between
 * a thread range and the rest of the block get a block-wide barrier before the range.
 * Tile ops report their shared-memory traffic (ops::TileOpNode::shared_effects): a cross-warp
 * reduction's scratch counts, a software pipeline's deferred copies do not.
 */
ir::Kernel insert_barriers(ir::Kernel kernel);

} // namespace tessera::codegen
