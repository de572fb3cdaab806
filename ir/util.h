/** \file
 * Small IR helpers shared by the lowering passes (not a pass).
 */
#pragma once

#include "ir/ir.h"

#include <cstdint>
#include <functional>
#include <optional>
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

} // namespace tessera::ir
