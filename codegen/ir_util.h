/** \file
 * Small IR helpers shared by the lowering passes (not a pass).
 */
#pragma once

#include "dsl/ir.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace tessera::codegen {

/** Calls `fn` for every Load in `e` (depth first). */
void for_each_load(const ir::Expr& e, const std::function<void(const ir::Load*)>& fn);
/** Calls `fn` for every Load in the expressions `s` evaluates itself (not in child statements). */
void for_each_own_load(const ir::Stmt& s, const std::function<void(const ir::Load*)>& fn);
/** Calls `fn` for every Load and Store (as buffer + indices + is_store) anywhere under `s`. */
void for_each_access(
    const ir::Stmt& s,
    const std::function<void(const ir::Buffer&, const std::vector<ir::Expr>&, bool)>& fn);
/** `e` with every Load of `from` turned into a Load of `to` (same indices). */
ir::Expr replace_buffer(const ir::Expr& e, const ir::Buffer& from, const ir::Buffer& to);
/** `s` with every Load of `from` in its whole subtree turned into a Load of `to`. */
ir::Stmt replace_buffer(const ir::Stmt& s, const ir::Buffer& from, const ir::Buffer& to);
/** `s` with Loads of `from` replaced only in the expressions `s` evaluates itself. */
ir::Stmt replace_buffer_own(const ir::Stmt& s, const ir::Buffer& from, const ir::Buffer& to);
/** The constant value of an integer expression, if it folds. */
std::optional<std::int64_t> const_int(const ir::Expr& e);
/** The largest power of two (capped at 1 << 20) that provably divides integer expression `e`. */
std::int64_t known_multiple(const ir::Expr& e);
/** True if the two expressions are the same Var (by name and kind) or the same node. */
bool same_var(const ir::Expr& a, const ir::Expr& b);
/** Constant extents of a non-global buffer. */
std::vector<std::int64_t> const_shape(const ir::Buffer& b);

} // namespace tessera::codegen
