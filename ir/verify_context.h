/** \file
 * What a verification check needs: the kernel it is in (for the common error format
 * `kernel 'k' at file.cpp:42: message`) and the checks shared by statements and tile ops. The
 * verifier (dsl/verifier.h) owns the walk; each tile op checks itself (TileOp::verify).
 */
#pragma once

#include "ir/ir.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tessera::ir {

/** The kernel being verified; every check reports through fail(). */
class VerifyContext {
public:
  explicit VerifyContext(const Kernel& kernel) : kernel_(kernel) {}

  const Kernel& kernel() const { return kernel_; }
  /** Throws UserError for a mistake at `loc` (the kernel's own location when loc is unknown). */
  [[noreturn]] void fail(const SourceLoc& loc, const std::string& message) const;

  /** Indices of an element access: one per dimension, each an integer expression; constant
   *  indices into a shared, fragment or local buffer inside its shape. */
  void check_indices(const SourceLoc& loc, const Buffer& b, const std::vector<Expr>& indices,
                     const char* what) const;
  /** The destination of a write must be writable (not an input tensor). */
  void check_writable(const SourceLoc& loc, const Buffer& b, const char* what) const;
  /** A value stored into `b` has `b`'s element type (the front end inserts casts, except from
   *  float to integer: that narrowing must be an explicit cast()). */
  void check_value_type(const SourceLoc& loc, const Buffer& b, const Expr& value,
                        const char* what) const;
  /** A region has one range per dimension, integer starts, positive extents, and stays inside
   *  a non-global buffer when its start is constant (global regions are clipped at run time). */
  void check_region(const SourceLoc& loc, const Region& r, const char* op, const char* role) const;

private:
  const Kernel& kernel_;
};

/** "[4, 8]". */
std::string shape_string(const std::vector<std::int64_t>& shape);
/** "fragment 'x' f32[4, 8]" (dynamic extents print by name). */
std::string describe(const Buffer& b);
/** Shared and fragment buffers: the scopes tiles live in. */
bool is_tile_scope(Scope s);

} // namespace tessera::ir
