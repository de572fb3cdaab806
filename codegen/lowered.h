/** \file
 * LoweredKernel: the tile IR plus the decisions the lowering passes take about it (fragment
 * layouts, how each parallel loop is split over threads, copy vector widths, the shared-memory
 * plan). IR nodes are immutable and shared with the front end, so decisions live in side tables
 * keyed by node identity; passes that rewrite the IR keep the keyed nodes (Parallel, Copy,
 * Reduce) intact. `str()` prints the IR with every decision next to it (TESSERA_DUMP_PASSES).
 */
#pragma once

#include "ir/ir.h"
#include "ir/layout.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace tessera::codegen {

using ir::FragmentMap;
using ir::Layout;
using ir::LayoutKind;
using ir::Slot;

struct PipelinePlan; // codegen/pipeline_loops.h

/** How the iterations of one Parallel are spread over the participating threads. */
struct ParallelPlan {
  enum class Kind : std::uint8_t {
    distributed, ///< the innermost axis follows `layout` (a distributed fragment's partition)
    split,       ///< flattened iterations dealt round-robin to threads (no fragment written)
    replicated,  ///< every thread runs every iteration (writes replicated fragments/locals)
    mapped,      ///< iterations follow a mapped layout (e.g. the mma accumulator)
  };
  Kind kind = Kind::replicated;
  Layout layout; ///< distributed / mapped: the partition followed
  int threads = 1;
  int begin = 0;
};

/** How one Copy is performed. */
struct CopyPlan {
  /** Elements per vector access on the global/shared side (1 = scalar accesses). */
  int vector_width = 1;
  /** Global → shared with equal dtypes: 16-byte cp.async (then waited for at once). */
  bool cp_async = false;
};

/** Shared memory: one dynamic allocation, each buffer at an aligned offset. */
struct SmemPlan {
  std::map<const ir::BufferNode*, std::int64_t> offsets;
  /** Scratch for cross-warp reductions, keyed by the Reduce statement. */
  std::map<const ir::StmtNode*, std::int64_t> scratch;
  std::int64_t total_bytes = 0;
};

/** The kernel as the CUDA emitter consumes it. */
struct LoweredKernel {
  ir::Kernel kernel;
  std::map<const ir::BufferNode*, Layout> layouts;
  std::map<const ir::StmtNode*, ParallelPlan> parallels;
  std::map<const ir::StmtNode*, CopyPlan> copies;
  SmemPlan smem;
  /** Async copies and commit/wait points of software-pipelined loops (null: none). */
  std::shared_ptr<const PipelinePlan> pipeline;
  /** Set by the layout pass; later passes only read tables that were filled. */
  bool layouts_done = false;

  /** Layout of a fragment; throws InternalError when the layout pass did not assign one. */
  const Layout& layout(const ir::Buffer& b) const;
  /** The IR with every decision printed next to it. Deterministic. */
  std::string str() const;
};

/** Bytes of shared scratch a cross-warp reduction of `dst_numel` f32 values over `threads`
 *  threads needs (0 when a single warp suffices). */
std::int64_t reduce_scratch_bytes(std::int64_t dst_numel, int threads);

} // namespace tessera::codegen
