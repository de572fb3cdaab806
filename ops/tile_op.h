/** \file
 * The base of every tile op (ops/<op>.h) and the interfaces through which the lowering passes
 * ask an op what it needs: ir::TileOp gives the generic view (operands, attributes,
 * verification); TileOpNode adds the codegen hooks, each implemented in the op's own .cpp.
 */
#pragma once

#include "ir/ir.h"
#include "ir/layout.h"

#include <string>

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
  /** `a` and `b` must share one partition (a register-to-register copy, a leading-axis
   *  reduction). */
  virtual void same_partition(const ir::Buffer& a, const ir::Buffer& b) = 0;
  /** The op imposes `layout` on fragment `b` (the tensor-core accumulator). */
  virtual void fix(const ir::Buffer& b, ir::Layout layout) = 0;
};

/** A tile op with its codegen hooks. Every op in ops/ derives from this. */
struct TileOpNode : ir::TileOp {
  using ir::TileOp::TileOp;
  /** Tells the layout pass what this op needs of its fragments' layouts (default: nothing). */
  virtual void request_layouts(LayoutRequests& requests) const {}
};

} // namespace tessera::ops
