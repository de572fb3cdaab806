/** \file
 * Simplifier internals: constant folding of every operator, cast and math call, with the exact
 * semantics the backends give them (wrapping integers, C truncating division, floats rounded to
 * their type). Only ir/simplify.cpp includes this; the public entry points are in simplify.h.
 */
#pragma once

#include "ir/ir.h"

#include <cstdint>
#include <optional>

namespace tessera::ir::internal {

/** `v` wrapped to the range of integer type `t` (two's complement); booleans become 0 or 1. */
std::int64_t wrap_int(DType t, std::int64_t v);
/** `v` rounded to float type `t` (bf16/f16/f32: to nearest even). */
double round_float(DType t, double v);

/** An integer/boolean immediate of type t holding `v` wrapped to the type. */
Expr make_int(DType t, std::int64_t v);
/** A float immediate of type t holding `v` rounded to the type. */
Expr make_float(DType t, double v);
Expr make_bool(bool v);

/** The value of an integer or boolean immediate (wrapped to its type). */
std::optional<std::int64_t> int_value(const Expr& e);
/** The value of a float immediate. */
std::optional<double> float_value(const Expr& e);

/** Folds `a op b` when both are immediates and the result is defined (no division by zero,
 *  no INT_MIN / -1); nullopt otherwise. */
std::optional<Expr> fold_binary(BinaryOp op, const Expr& a, const Expr& b);
/** Folds -a or !a on an immediate. */
std::optional<Expr> fold_unary(UnaryOp op, const Expr& a);
/** Folds a cast of an immediate (float to int only when in range: truncates toward zero). */
std::optional<Expr> fold_cast(DType t, const Expr& v);
/** Folds a math call whose arguments are immediates (never warp functions). Transcendentals
 *  fold to the double-precision result rounded to the call's type. */
std::optional<Expr> fold_call(CallOp op, const std::vector<Expr>& args);

} // namespace tessera::ir::internal
