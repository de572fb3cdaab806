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

/** Per-thread storage limits, bytes: one fragment's registers or one local array, and the sum
 * over every fragment and local of the kernel. Past them NVRTC's time and memory grow without
 * bound (a 31 KB per-thread softmax row ran 8 minutes past 5 GB) while the kernel spills
 * anyway, so infer_layouts refuses such programs with a UserError naming the buffer's DSL line
 * and the fixes: more threads, a shared tile, or a serial loop over chunks. */
inline constexpr std::int64_t kMaxThreadBufferBytes = 2048;
inline constexpr std::int64_t kMaxThreadStorageBytes = 8192;

} // namespace tessera::codegen
