/** \file
 * Pass: fragment layout inference and thread partitioning.
 */
#pragma once

#include "ir/ir.h"

namespace tessera::codegen {

/**
 * Chooses a Layout for every fragment (recorded on its Allocate) and a ParallelPlan for every
 * parallel loop (recorded on the loop) (docs/dsl.md, "Layouts"). A fragment is distributed when a
 * parallel loop indexes its last axis with the loop's innermost variable over the same extent;
 * fragments sharing such a loop (or linked by a leading-axis reduction or a fragment copy) share
 * one partition. Other fragments are replicated up to kMaxReplicated elements; bigger ones get the
 * default distributed layout, and a write that would need them replicated is a UserError explaining
 * what to change. Reads of a distributed fragment that do not follow its partition go through a
 * shared-memory copy the pass inserts (named `<fragment>_smem`, visible in the IR dump); such
 * writes are UserErrors.
 */
ir::Kernel infer_layouts(const ir::Kernel& kernel);

/** Largest replicated fragment, in elements. */
inline constexpr std::int64_t kMaxReplicated = 256;

} // namespace tessera::codegen
