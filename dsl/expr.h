/** \file
 * Expression building for DSL programs: C++ operators on ir::Expr with Tessera's promotion
 * rules, math functions, casts and the thread/block index built-ins.
 *
 * Promotion: integer literals adopt the other operand's type; bf16/f16 operands compute in f32;
 * mixed floats widen (f32 < f64); i32 with i64 gives i64; booleans only combine with && || !.
 * Integer / and % truncate toward zero as in C.
 */
#pragma once

#include "ir/ir.h"

namespace tessera::dsl {

using ir::Expr;

/** Converts `e` to the common type it has with `other` (see promotion rules above). */
std::pair<Expr, Expr> promote(Expr a, Expr b);

Expr operator+(Expr a, Expr b);
Expr operator-(Expr a, Expr b);
Expr operator*(Expr a, Expr b);
Expr operator/(Expr a, Expr b);
Expr operator%(Expr a, Expr b);
Expr operator-(Expr a);
Expr operator==(Expr a, Expr b);
Expr operator!=(Expr a, Expr b);
Expr operator<(Expr a, Expr b);
Expr operator<=(Expr a, Expr b);
Expr operator>(Expr a, Expr b);
Expr operator>=(Expr a, Expr b);
Expr operator&&(Expr a, Expr b);
Expr operator||(Expr a, Expr b);
Expr operator!(Expr a);

Expr min(Expr a, Expr b);
Expr max(Expr a, Expr b);
/** `cond ? t : f`, evaluated without branching. */
Expr select(Expr cond, Expr t, Expr f);
/** Type conversion; float→bf16/f16 rounds to nearest even, float→int truncates. */
Expr cast(DType t, Expr e);
/** The conversion a store, fill or atomic applies to its value (`x[i] = v`): cast(t, e), except
 *  from a floating-point type to an integer one, which truncates and so must be written as
 *  cast(): such a value is kept as it is, and the verifier refuses it at build(). */
Expr store_conversion(DType t, Expr e);
/** Ceiling division of non-negative integers. */
Expr ceil_div(Expr a, Expr b);

// Math on floats (integers are converted to f32 first). Accuracy: see docs/dsl.md.
Expr exp(Expr x);
Expr exp2(Expr x);
Expr log(Expr x);
Expr log2(Expr x);
Expr sqrt(Expr x);
Expr rsqrt(Expr x);
/** 1 / (1 + exp(-x)). */
Expr sigmoid(Expr x);
Expr tanh(Expr x);
Expr abs(Expr x);
Expr floor(Expr x);
Expr ceil(Expr x);
/** a * b + c with a single rounding. */
Expr fma(Expr a, Expr b, Expr c);

/** Index of the calling thread in its block (i32). */
Expr thread_idx();
/** thread_idx() / 32 and thread_idx() % 32. */
Expr warp_idx();
Expr lane_idx();
/** blockIdx along `axis` (0, 1, 2). The launch body receives these as arguments too. */
Expr block_idx(int axis = 0);

/** Butterfly all-reduce over groups of `width` lanes (a power of two, at most 32). Every lane of
 *  the warp must execute it. */
Expr warp_sum(Expr value, int width = 32);
Expr warp_max(Expr value, int width = 32);
/** __shfl_xor_sync / __shfl_sync over the full warp. */
Expr shfl_xor(Expr value, int lane_mask);
Expr shfl_idx(Expr value, Expr src_lane);

/** A literal of an explicit type (integer types truncate `v`). */
Expr constant(DType t, double v);

// Element types, spelled as in DSL programs: fragment(f32, {4, 4}).
inline constexpr DType bf16 = DType::bf16;
inline constexpr DType f16 = DType::f16;
inline constexpr DType f32 = DType::f32;
inline constexpr DType f64 = DType::f64;
inline constexpr DType i8 = DType::i8;
inline constexpr DType i32 = DType::i32;
inline constexpr DType i64 = DType::i64;
inline constexpr DType u8 = DType::u8;
inline constexpr DType u32 = DType::u32;
inline constexpr DType boolean = DType::boolean;

} // namespace tessera::dsl
