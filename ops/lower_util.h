/** \file
 * Building blocks the tile ops' lowerings share (ops/<op>.cpp): element access of regions and of
 * fragments' register arrays, bounds conditions of global regions, conversions, and index
 * decompositions bound by LetStmts. Thread-level IR only; no target knowledge.
 */
#pragma once

#include "ir/ir.h"
#include "ops/tile_op.h"

#include <string>
#include <utility>
#include <vector>

namespace tessera::ops {

/** The literal 0 of `t`. */
ir::Expr zero(DType t);
/** `value` converted to `to` (itself when the types agree). */
ir::Expr convert(const ir::Expr& value, DType to);
/** `r` covers its whole buffer (every start 0, every extent the buffer's, nothing squeezed). */
bool is_whole(const ir::Region& r);
/** Elements of a region (the product of its non-squeezed extents). */
std::int64_t region_numel(const ir::Region& r);

/** Buffer indices of region `r` at element indices `e` (one per non-squeezed dimension). */
std::vector<ir::Expr> region_indices(const ir::Region& r, const std::vector<ir::Expr>& e);
/** The in-bounds condition of a global region's access at `idx` that covers `run` elements of
 *  the last dimension; undefined when it is provably in bounds (or the buffer is not global). */
ir::Expr in_bounds(const ir::Region& r, const std::vector<ir::Expr>& idx, int run = 1);

/** Reading element `idx` of any buffer: a fragment (replicated layout) reads its register array
 *  at the row-major position, every other buffer itself. */
ir::Expr load_element(const LowerContext& ctx, const ir::Buffer& b,
                      const std::vector<ir::Expr>& idx);
/** Writing element `idx`, as load_element reads it. */
ir::Stmt store_element(const LowerContext& ctx, const ir::Buffer& b,
                       const std::vector<ir::Expr>& idx, const ir::Expr& value,
                       const ir::SourceLoc& loc);

/** LetStmts to wrap around a body, innermost last. */
class Lets {
public:
  /** Binds a new variable named `name` to `value` and returns it. */
  ir::Expr bind(const std::string& name, const ir::Expr& value);
  ir::Stmt wrap(ir::Stmt body) const;

private:
  std::vector<std::pair<ir::Expr, ir::Expr>> binds_;
};

/** The row-major decomposition of `flat` over `shape` as indices, one per dimension; those
 *  that are not trivially `flat` itself are bound in `lets` as <prefix><d>_. */
std::vector<ir::Expr> decompose(const ir::Expr& flat, const std::vector<std::int64_t>& shape,
                                const std::string& prefix, Lets& lets);

/** `for (var = 0; var < extent; ++var) body`, fully unrolled when `unroll`; with one iteration
 *  just the body with var = 0. */
ir::Stmt loop(const ir::Expr& var, std::int64_t extent, bool unroll, ir::Stmt body,
              const ir::SourceLoc& loc);
/** The loop over the rounds of elements dealt round-robin to the threads (a copy, fill or
 *  parallel loop split over them): unrolled by up to 4, enough loads in flight without the
 *  register cost of unrolling every round; not at all for asynchronous copies (`async`), which
 *  are in flight anyway. */
ir::Stmt rounds_loop(const ir::Expr& var, std::int64_t rounds, ir::Stmt body,
                     const ir::SourceLoc& loc, bool async = false);
/** `if (cond) then` (then alone when cond is undefined: always true). */
ir::Stmt guard(const ir::Expr& cond, ir::Stmt then_case, const ir::SourceLoc& loc);

} // namespace tessera::ops
