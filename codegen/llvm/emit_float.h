/** \file
 * Internal: LLVM IR for bf16/f16 conversions and the math functions of the CPU backend. Every
 * emitter works on scalars and on vectors of the same element type (constants are splatted), so
 * the loop vectoriser can widen loops that use them. Only forward declarations of LLVM types
 * here; see docs/cpu-backend.md for the accuracy of each function.
 */
#pragma once

namespace llvm {
class IRBuilderBase;
class Value;
} // namespace llvm

namespace tessera::internal {

/** float -> bfloat16 bits (i16): round to nearest even; NaN stays a quiet NaN with its sign and
 * top payload bits; bit-exact with tessera::float_to_bf16_bits. */
llvm::Value* emit_f32_to_bf16(llvm::IRBuilderBase& b, llvm::Value* f);
/** bfloat16 bits (i16) -> float, exact. */
llvm::Value* emit_bf16_to_f32(llvm::IRBuilderBase& b, llvm::Value* bits);
/** float -> IEEE half bits (i16): round to nearest even, subnormals, overflow to inf, NaN to the
 * canonical quiet NaN with its sign; bit-exact with tessera::float_to_f16_bits. */
llvm::Value* emit_f32_to_f16(llvm::IRBuilderBase& b, llvm::Value* f);
/** IEEE half bits (i16) -> float, exact (subnormals included). */
llvm::Value* emit_f16_to_f32(llvm::IRBuilderBase& b, llvm::Value* bits);

/** exp(x) for float, inline (no libm call, vectorisable): max error 1 ulp over the whole range,
 * exact 0 / inf at underflow / overflow, NaN propagates. */
llvm::Value* emit_exp_f32(llvm::IRBuilderBase& b, llvm::Value* x);
/** 2^x for float, inline: max error 1 ulp; exact for integer x. */
llvm::Value* emit_exp2_f32(llvm::IRBuilderBase& b, llvm::Value* x);
/** log(x) for float, inline: max error 1 ulp for normal and subnormal x > 0; log(0) = -inf,
 * log(x < 0) = NaN, log(inf) = inf. */
llvm::Value* emit_log_f32(llvm::IRBuilderBase& b, llvm::Value* x);
/** log2(x) for float, inline: max error 1 ulp; exact for powers of two. Special cases as log. */
llvm::Value* emit_log2_f32(llvm::IRBuilderBase& b, llvm::Value* x);
/** tanh(x) for float, inline, through exp: max error 1 ulp (see docs/cpu-backend.md). */
llvm::Value* emit_tanh_f32(llvm::IRBuilderBase& b, llvm::Value* x);
/** 1 / (1 + exp(-x)), inline: max error 3 ulp. */
llvm::Value* emit_sigmoid_f32(llvm::IRBuilderBase& b, llvm::Value* x);

} // namespace tessera::internal
