/** \file
 * Small IR helpers shared by the lowering passes (not a pass).
 */
#pragma once

#include "ir/ir.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tessera::ir {

/** Calls `fn` for every Load in `e` (depth first). */
void for_each_load(const Expr& e, const std::function<void(const Load*)>& fn);
/** Calls `fn` for every Load in the expressions `s` evaluates itself (not in child statements). */
void for_each_own_load(const Stmt& s, const std::function<void(const Load*)>& fn);
/** Calls `fn` for every Load and Store (as buffer + indices + is_store) anywhere under `s`. */
void for_each_access(const Stmt& s,
                     const std::function<void(const Buffer&, const std::vector<Expr>&, bool)>& fn);
/** `e` with every Load of `from` turned into a Load of `to` (same indices). */
Expr replace_buffer(const Expr& e, const Buffer& from, const Buffer& to);
/** `s` with every Load of `from` in its whole subtree turned into a Load of `to`. */
Stmt replace_buffer(const Stmt& s, const Buffer& from, const Buffer& to);
/** `s` with Loads of `from` replaced only in the expressions `s` evaluates itself. */
Stmt replace_buffer_own(const Stmt& s, const Buffer& from, const Buffer& to);
/** The constant value of an integer expression, if it folds. */
std::optional<std::int64_t> const_int(const Expr& e);
/** The largest power of two (capped at 1 << 20) that provably divides integer expression `e`. */
std::int64_t known_multiple(const Expr& e);
/** True if the two expressions are the same Var (by name and kind) or the same node. */
bool same_var(const Expr& a, const Expr& b);
/** Constant extents of a non-global buffer. */
std::vector<std::int64_t> const_shape(const Buffer& b);

// ---------------------------------------------------------------------------------------------
// Builders for the integer index arithmetic lowerings write. They fold constants and the
// identities x + 0, x * 1, x * 0, x / 1, x % 1 as they build, so lowered IR (and the CUDA
// printed from it) stays as short as what a person would write, without a simplifier run.
// ---------------------------------------------------------------------------------------------

/** An i32 constant. */
Expr i32(std::int64_t v);
Expr add(const Expr& a, const Expr& b);
Expr sub(const Expr& a, const Expr& b);
Expr mul(const Expr& a, const Expr& b);
/** Integer division and modulo (truncating, as C); used on non-negative indices only. */
Expr div(const Expr& a, const Expr& b);
Expr mod(const Expr& a, const Expr& b);
Expr lt(const Expr& a, const Expr& b);
Expr le(const Expr& a, const Expr& b);
Expr eq(const Expr& a, const Expr& b);
/** Logical and; an undefined operand stands for `true`, so conditions can be built up. */
Expr land(const Expr& a, const Expr& b);
/** A fresh i32 variable bound by a loop or let. */
Expr int_var(const std::string& name);
/** A new buffer (local or shared scratch a lowering allocates for itself). */
Buffer temp_buffer(std::string name, DType dtype, std::vector<std::int64_t> shape, Scope scope);
/** Row-major linear offset of `index` within `shape`. */
Expr linear_index(const std::vector<Expr>& index, const std::vector<std::int64_t>& shape);

} // namespace tessera::ir
