/** \file
 * Pass: tile IR → thread-level IR. Every tile op is replaced by its own lowering
 * (ops/<op>.cpp, TileOpNode::lower), every parallel loop by per-thread loops following its plan,
 * and every fragment by the per-thread register array its layout gives it; fragment accesses
 * become register accesses. Afterwards the kernel holds only statements each thread runs for
 * itself (ir/ir.h, "Thread-level statements"), which both backends consume.
 */
#pragma once

#include "ir/ir.h"
#include "ops/tile_op.h"

namespace tessera::codegen {

/** Lowers `kernel` (after infer_layouts, vectorize_copies, pipeline_loops, insert_barriers) for
 *  `target`. Throws UserError for what the target cannot lower, naming the DSL line. */
ir::Kernel lower_tile_ops(ir::Kernel kernel, const ops::TargetInfo& target);

} // namespace tessera::codegen
