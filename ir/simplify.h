/** \file
 * The simplifier (Halide's Simplify.h, much smaller): constant folding, algebraic identities,
 * integer division and modulo rewrites, and removal of dead control flow.
 *
 * Every rewrite preserves the value of every expression bit for bit under Tessera's semantics:
 * integer arithmetic wraps, integer / and % truncate toward zero (C), float folding rounds to
 * the expression's type (bf16/f16 to nearest even, as the device does), and identities that
 * would change the sign of a float zero (x + 0.0) are not applied. Rewrites of / and % that
 * only hold for non-negative operands are applied only where the operands are provably
 * non-negative: constants, thread_idx, block indices, dynamic dims, parallel variables and
 * variables of loops whose minimum is non-negative, and sums, products, quotients, minima and
 * maxima of those.
 */
#pragma once

#include "ir/ir.h"

namespace tessera::ir {

/** Returns a simplified expression equal in value and type to `e`. Loop variables outside any
 *  loop the simplifier has seen have unknown sign. */
Expr simplify(const Expr& e);

/** Returns a simplified statement tree: expressions simplified; loops with constant extent
 *  <= 0 or an empty body removed; loops with extent 1 replaced by their body with the variable
 *  substituted by the loop minimum; ifs with constant conditions replaced by the taken branch;
 *  nested blocks flattened (a block that allocates keeps its own scope, so buffer lifetimes do
 *  not grow). The result is always defined (an empty Block when nothing remains). */
Stmt simplify(const Stmt& s);

} // namespace tessera::ir
