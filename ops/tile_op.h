/** \file
 * The base of every tile op (ops/<op>.h) and the interfaces through which the lowering passes
 * ask an op what it needs: ir::TileOp gives the generic view (operands, attributes,
 * verification); TileOpNode adds the codegen hooks, each implemented in the op's own .cpp.
 */
#pragma once

#include "ir/ir.h"
#include "ir/layout.h"

#include <map>
#include <string>
#include <vector>

namespace tessera::ops {

/** The threads a statement runs on: the block, or the innermost enclosing thread range. */
struct Participants {
  int threads = 0;
  int begin = 0;
  bool operator==(const Participants&) const = default;
};

/** What a tile op asks of the layout pass (codegen/infer_layouts.h), statement by statement. */
class LayoutRequests {
public:
  virtual ~LayoutRequests() = default;
  /** For error messages. */
  virtual const std::string& kernel_name() const = 0;
  /** The threads running the op being asked. */
  virtual Participants participants() const = 0;
  /** Fragment `frag` is copied to or from global elements of `bytes` bytes: its vector width is
   *  chosen for 16-byte accesses of them. */
  virtual void global_access(const ir::Buffer& frag, int bytes) = 0;
  /** The op wants fragment `frag` spread over the threads along its last axis, as a parallel
   *  loop over that axis would (without a request, a fragment no loop spreads stays
   *  replicated while it is small). */
  virtual void distribute(const ir::Buffer& frag) = 0;
  /** `a` and `b` must share one partition (a register-to-register copy, a leading-axis
   *  reduction). */
  virtual void same_partition(const ir::Buffer& a, const ir::Buffer& b) = 0;
  /** The op imposes `layout` on fragment `b` (the tensor-core accumulator). */
  virtual void fix(const ir::Buffer& b, ir::Layout layout) = 0;
};

/**
 * What a target offers the lowerings (Triton's TargetInfoBase, much smaller): the few facts on
 * which an op's thread-level form differs between backends. codegen/target_info.h has the CUDA
 * and CPU ones.
 */
class TargetInfo {
public:
  virtual ~TargetInfo() = default;
  /** "cuda", "cpu". */
  virtual const char* name() const = 0;
  /** Warp-level tensor-core instructions (ir::MmaTile); without them gemm lowers to loops. */
  virtual bool has_tensor_cores() const = 0;
};

/** The fragment layouts of a kernel, by buffer (as infer_layouts recorded them on Allocates). */
using LayoutMap = std::map<const ir::BufferNode*, ir::Layout>;

/** What an op's lowering can ask of the pass lowering it (codegen/lower_tile_ops.h). */
class LowerContext {
public:
  virtual ~LowerContext() = default;
  virtual const std::string& kernel_name() const = 0;
  virtual const TargetInfo& target() const = 0;
  /** The threads running the op, and the running thread's index among them (i32). */
  virtual Participants participants() const = 0;
  virtual ir::Expr tid() const = 0;
  /** The layout of a fragment; InternalError for a buffer that is none. */
  virtual const ir::Layout& layout(const ir::Buffer& fragment) const = 0;
  /** The per-thread register array a fragment lives in after lowering. */
  virtual ir::Buffer registers(const ir::Buffer& fragment) const = 0;
};

/** Shared-memory traffic of one statement, as the barrier pass sees it. */
struct SharedEffects {
  bool reads = false, writes = false;
};

/** A tile op with its codegen hooks. Every op in ops/ derives from this. */
struct TileOpNode : ir::TileOp {
  using ir::TileOp::TileOp;
  /** Tells the layout pass what this op needs of its fragments' layouts (default: nothing). */
  virtual void request_layouts(LayoutRequests& requests) const {}
  /** The op's shared-memory reads and writes, for barrier placement; default: its shared
   *  operands as operands() says. Ops with scratch of their own, or with writes whose
   *  visibility something else manages, say so here. */
  virtual SharedEffects shared_effects(const LayoutMap& layouts) const;
  /** The op as thread-level IR (see ir/ir.h, "Thread-level statements"). Throws UserError for
   *  a use the target cannot lower, naming the op's DSL line. */
  virtual ir::Stmt lower(LowerContext& ctx) const = 0;
};

} // namespace tessera::ops
