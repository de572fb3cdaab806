/** \file
 * Structural equality and hashing of IR trees (Halide's IREquality.h): two trees are equal when
 * they have the same shape, node kinds, types, operators and constants. Used by tests, the
 * simplifier (x - x) and Runtime::compile's memo of compiled kernels (jit/kernel_cache.h).
 *
 * What "the same" means for the leaves:
 *  - variables compare by name, kind, type and axis (the front end numbers loop variables, so
 *    names are unique within a kernel);
 *  - buffers compare by identity (two allocations with one name are different buffers);
 *  - float constants compare by bit pattern (NaN equals NaN, 0.0 differs from -0.0);
 *  - source locations are ignored.
 * Hashes agree with equality: equal trees hash equal.
 */
#pragma once

#include "ir/ir.h"

#include <cstddef>

namespace tessera::ir {

/** True when `a` and `b` are structurally identical (both undefined counts as equal). */
bool equal(const Expr& a, const Expr& b);
/** True when two statement trees are structurally identical, source locations aside. */
bool equal(const Stmt& a, const Stmt& b);

/** A hash of the expression's structure, consistent with equal(). */
std::size_t structural_hash(const Expr& e);
/** A hash of the statement tree's structure, consistent with equal(). */
std::size_t structural_hash(const Stmt& s);

} // namespace tessera::ir
