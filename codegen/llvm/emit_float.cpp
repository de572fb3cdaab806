#include "codegen/llvm/emit_float.h"

#include <cstdint>
#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>

namespace tessera::internal {
namespace {

// `elem` with the shape (scalar or vector) of `like`.
llvm::Type* same_shape(llvm::Type* like, llvm::Type* elem) {
  if (auto* vt = llvm::dyn_cast<llvm::VectorType>(like)) {
    return llvm::VectorType::get(elem, vt->getElementCount());
  }
  return elem;
}

// Shorthands over one builder and one value shape; constants are splatted for vectors.
struct Ops {
  llvm::IRBuilderBase& b;
  llvm::Type* f32;
  llvm::Type* i32;
  llvm::Type* i16;

  Ops(llvm::IRBuilderBase& builder, llvm::Type* like)
      : b(builder), f32(same_shape(like, builder.getFloatTy())),
        i32(same_shape(like, builder.getInt32Ty())), i16(same_shape(like, builder.getInt16Ty())) {}

  llvm::Value* u(std::uint32_t v) { return llvm::ConstantInt::get(i32, v); }
  llvm::Value* f(float v) { return llvm::ConstantFP::get(f32, v); }
  llvm::Value* as_int(llvm::Value* v) { return b.CreateBitCast(v, i32); }
  llvm::Value* as_float(llvm::Value* v) { return b.CreateBitCast(v, f32); }
  llvm::Value* fmuladd(llvm::Value* x, llvm::Value* y, llvm::Value* z) {
    return b.CreateIntrinsic(llvm::Intrinsic::fmuladd, {f32}, {x, y, z});
  }
  llvm::Value* rint(llvm::Value* x) { return b.CreateIntrinsic(llvm::Intrinsic::rint, {f32}, {x}); }
  // Horner evaluation of c[0] * x^(n-1) + ... + c[n-1].
  template <std::size_t N> llvm::Value* poly(llvm::Value* x, const float (&c)[N]) {
    llvm::Value* acc = f(c[0]);
    for (std::size_t i = 1; i < N; ++i) {
      acc = fmuladd(acc, x, f(c[i]));
    }
    return acc;
  }
  llvm::Value* is_nan(llvm::Value* x) { return b.CreateFCmpUNO(x, x); }
};

} // namespace

llvm::Value* emit_f32_to_bf16(llvm::IRBuilderBase& b, llvm::Value* value) {
  Ops o(b, value->getType());
  llvm::Value* u = o.as_int(value);
  llvm::Value* hi = b.CreateLShr(u, o.u(16));
  // NaN: keep sign and top payload bits, force the quiet bit (never round a NaN into inf).
  llvm::Value* nan = b.CreateOr(hi, o.u(0x40));
  llvm::Value* is_nan = b.CreateICmpUGT(b.CreateAnd(u, o.u(0x7fffffff)), o.u(0x7f800000));
  // Round to nearest even: add 0x7fff plus the lowest kept bit, then truncate.
  llvm::Value* bias = b.CreateAdd(o.u(0x7fff), b.CreateAnd(hi, o.u(1)));
  llvm::Value* rounded = b.CreateLShr(b.CreateAdd(u, bias), o.u(16));
  return b.CreateTrunc(b.CreateSelect(is_nan, nan, rounded), o.i16);
}

llvm::Value* emit_bf16_to_f32(llvm::IRBuilderBase& b, llvm::Value* bits) {
  Ops o(b, bits->getType());
  return o.as_float(b.CreateShl(b.CreateZExt(bits, o.i32), o.u(16)));
}

llvm::Value* emit_f32_to_f16(llvm::IRBuilderBase& b, llvm::Value* value) {
  // Same algorithm as tessera::float_to_f16_bits (base/float16.cpp), branch-free.
  Ops o(b, value->getType());
  llvm::Value* u = o.as_int(value);
  llvm::Value* sign = b.CreateAnd(b.CreateLShr(u, o.u(16)), o.u(0x8000));
  llvm::Value* abs = b.CreateAnd(u, o.u(0x7fffffff));
  // Normal result: rebias the exponent (127 -> 15), round the 13 dropped bits to nearest even.
  llvm::Value* h = b.CreateSub(abs, o.u(112u << 23));
  h = b.CreateAdd(h, b.CreateAdd(o.u(0x0fff), b.CreateAnd(b.CreateLShr(h, o.u(13)), o.u(1))));
  llvm::Value* normal = b.CreateLShr(h, o.u(13));
  // Subnormal or zero result: scale so that the half's step 2^-24 is 1.0 and round in the FPU.
  llvm::Value* scaled = b.CreateFMul(o.as_float(abs), o.f(16777216.0f));
  llvm::Value* subnormal = b.CreateFPToUI(o.rint(scaled), o.i32);
  llvm::Value* r = b.CreateSelect(b.CreateICmpULT(abs, o.u(0x38800000)), subnormal, normal);
  r = b.CreateSelect(b.CreateICmpUGE(abs, o.u(0x477ff000)), o.u(0x7c00), r); // >= 65520: inf
  r = b.CreateSelect(b.CreateICmpUGT(abs, o.u(0x7f800000)), o.u(0x7e00), r); // quiet NaN
  return b.CreateTrunc(b.CreateOr(sign, r), o.i16);
}

llvm::Value* emit_f16_to_f32(llvm::IRBuilderBase& b, llvm::Value* bits) {
  Ops o(b, bits->getType());
  llvm::Value* h = b.CreateZExt(bits, o.i32);
  llvm::Value* sign = b.CreateShl(b.CreateAnd(h, o.u(0x8000)), o.u(16));
  llvm::Value* exp = b.CreateAnd(b.CreateLShr(h, o.u(10)), o.u(0x1f));
  llvm::Value* mant = b.CreateAnd(h, o.u(0x3ff));
  // Normal, inf and NaN share the mantissa shift; the exponent is rebiased or saturated.
  llvm::Value* exp32 = b.CreateSelect(b.CreateICmpEQ(exp, o.u(31)), o.u(0x7f800000),
                                      b.CreateShl(b.CreateAdd(exp, o.u(112)), o.u(23)));
  llvm::Value* normal = b.CreateOr(exp32, b.CreateShl(mant, o.u(13)));
  // Subnormal (or zero): mant * 2^-24, exact in float.
  llvm::Value* subnormal =
      o.as_int(b.CreateFMul(b.CreateUIToFP(mant, o.f32), o.f(5.9604644775390625e-8f)));
  llvm::Value* mag = b.CreateSelect(b.CreateICmpEQ(exp, o.u(0)), subnormal, normal);
  return o.as_float(b.CreateOr(sign, mag));
}

namespace {

// e^r * 2^n for |r| <= ln2/2 (Cephes expf polynomial), scaled in two exact steps so that a
// result in the subnormal range is rounded once. nf is integral, in [-150, 129].
llvm::Value* exp_scaled(Ops& o, llvm::Value* r, llvm::Value* nf) {
  static constexpr float kExp[] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                                   4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
  llvm::IRBuilderBase& b = o.b;
  llvm::Value* r2 = b.CreateFMul(r, r);
  llvm::Value* p = o.fmuladd(o.poly(r, kExp), r2, b.CreateFAdd(r, o.f(1.0f)));
  llvm::Value* n = b.CreateFPToSI(nf, o.i32);
  llvm::Value* n1 = b.CreateAShr(n, o.u(1));
  llvm::Value* n2 = b.CreateSub(n, n1);
  auto pow2 = [&](llvm::Value* k) {
    return o.as_float(b.CreateShl(b.CreateAdd(k, o.u(127)), o.u(23)));
  };
  return b.CreateFMul(b.CreateFMul(p, pow2(n1)), pow2(n2));
}

// x with NaN replaced by 0 and clamped to [lo, hi] (NaN is restored by the caller).
llvm::Value* clamp_finite(Ops& o, llvm::Value* x, float lo, float hi) {
  llvm::IRBuilderBase& b = o.b;
  llvm::Value* xc = b.CreateSelect(o.is_nan(x), o.f(0.0f), x);
  xc = b.CreateSelect(b.CreateFCmpOGT(xc, o.f(hi)), o.f(hi), xc);
  return b.CreateSelect(b.CreateFCmpOLT(xc, o.f(lo)), o.f(lo), xc);
}

} // namespace

llvm::Value* emit_exp_f32(llvm::IRBuilderBase& b, llvm::Value* x) {
  // Cephes expf: x = n ln2 + r with |r| <= ln2/2 (Cody-Waite two-part ln2). Inputs are clamped
  // so that n stays in [-150, 129]; the clamp bounds still overflow to inf / underflow to 0.
  Ops o(b, x->getType());
  llvm::Value* xc = clamp_finite(o, x, -104.0f, 89.0f);
  llvm::Value* nf = o.rint(b.CreateFMul(xc, o.f(1.44269504088896341f)));
  llvm::Value* r = o.fmuladd(nf, o.f(-0.693359375f), xc);
  r = o.fmuladd(nf, o.f(2.12194440e-4f), r);
  return b.CreateSelect(o.is_nan(x), x, exp_scaled(o, r, nf));
}

llvm::Value* emit_exp2_f32(llvm::IRBuilderBase& b, llvm::Value* x) {
  // 2^x = 2^n e^(f ln2) with n = rint(x) and f = x - n exact, |f ln2| <= ln2/2.
  Ops o(b, x->getType());
  llvm::Value* xc = clamp_finite(o, x, -150.0f, 129.0f);
  llvm::Value* nf = o.rint(xc);
  llvm::Value* r = b.CreateFMul(b.CreateFSub(xc, nf), o.f(0.693147180559945309f));
  return b.CreateSelect(o.is_nan(x), x, exp_scaled(o, r, nf));
}

namespace {

llvm::Value* log_impl(llvm::IRBuilderBase& b, llvm::Value* x, bool base2) {
  // Cephes logf: x = m 2^e with m in [sqrt(1/2), sqrt(2)), log(m) by a degree-9 polynomial in
  // m - 1, e ln2 added in two parts. Subnormal inputs are scaled by 2^23 first.
  Ops o(b, x->getType());
  llvm::Value* tiny = b.CreateFCmpOLT(x, o.f(1.17549435e-38f));
  llvm::Value* xs = b.CreateSelect(tiny, b.CreateFMul(x, o.f(8388608.0f)), x);
  llvm::Value* bits = o.as_int(xs);
  llvm::Value* e = b.CreateSub(b.CreateLShr(bits, o.u(23)), o.u(126));
  e = b.CreateSelect(tiny, b.CreateSub(e, o.u(23)), e);
  llvm::Value* m = o.as_float(b.CreateOr(b.CreateAnd(bits, o.u(0x007fffff)), o.u(0x3f000000)));
  llvm::Value* small = b.CreateFCmpOLT(m, o.f(0.707106781186547524f));
  e = b.CreateSelect(small, b.CreateSub(e, o.u(1)), e);
  m = b.CreateSelect(small, b.CreateFAdd(m, m), m);
  m = b.CreateFSub(m, o.f(1.0f));
  llvm::Value* ef = b.CreateSIToFP(e, o.f32);
  static constexpr float kLog[] = {7.0376836292e-2f,  -1.1514610310e-1f, 1.1676998740e-1f,
                                   -1.2420140846e-1f, 1.4249322787e-1f,  -1.6668057665e-1f,
                                   2.0000714765e-1f,  -2.4999993993e-1f, 3.3333331174e-1f};
  llvm::Value* z = b.CreateFMul(m, m);
  llvm::Value* y = b.CreateFMul(b.CreateFMul(o.poly(m, kLog), m), z);
  llvm::Value* result = nullptr;
  if (base2) {
    // log2(x) = e + log(m) log2(e): exact for powers of two.
    y = o.fmuladd(z, o.f(-0.5f), y);
    result = o.fmuladd(b.CreateFAdd(m, y), o.f(1.44269504088896341f), ef);
  } else {
    y = o.fmuladd(ef, o.f(-2.12194440e-4f), y);
    y = o.fmuladd(z, o.f(-0.5f), y);
    result = b.CreateFAdd(m, y);
    result = o.fmuladd(ef, o.f(0.693359375f), result);
  }
  // Special cases: log(+-0) = -inf, log(x < 0) = NaN, log(inf) = inf, NaN propagates.
  result = b.CreateSelect(b.CreateFCmpOEQ(x, o.f(0.0f)),
                          llvm::ConstantFP::getInfinity(o.f32, /*Negative=*/true), result);
  result = b.CreateSelect(b.CreateFCmpOLT(x, o.f(0.0f)), llvm::ConstantFP::getNaN(o.f32), result);
  result = b.CreateSelect(b.CreateFCmpOEQ(x, llvm::ConstantFP::getInfinity(o.f32)), x, result);
  return b.CreateSelect(o.is_nan(x), x, result);
}

} // namespace

llvm::Value* emit_log_f32(llvm::IRBuilderBase& b, llvm::Value* x) {
  return log_impl(b, x, false);
}

llvm::Value* emit_log2_f32(llvm::IRBuilderBase& b, llvm::Value* x) {
  return log_impl(b, x, true);
}

llvm::Value* emit_tanh_f32(llvm::IRBuilderBase& b, llvm::Value* x) {
  // Cephes tanhf: an odd polynomial for |x| < 0.625 (where 1 - 2/(e^2x + 1) would cancel), else
  // 1 - 2 / (exp(2|x|) + 1) with the sign of x (saturates to +-1 through exp's overflow).
  Ops o(b, x->getType());
  llvm::Value* ax = b.CreateIntrinsic(llvm::Intrinsic::fabs, {o.f32}, {x});
  static constexpr float kTanh[] = {-5.70498872745e-3f, 2.06390887954e-2f, -5.37397155531e-2f,
                                    1.33314422036e-1f, -3.33332819422e-1f};
  llvm::Value* z = b.CreateFMul(x, x);
  llvm::Value* small = o.fmuladd(b.CreateFMul(o.poly(z, kTanh), z), x, x);
  llvm::Value* e = emit_exp_f32(b, b.CreateFAdd(ax, ax));
  llvm::Value* large = b.CreateFSub(o.f(1.0f), b.CreateFDiv(o.f(2.0f), b.CreateFAdd(e, o.f(1.0f))));
  large = b.CreateIntrinsic(llvm::Intrinsic::copysign, {o.f32}, {large, x});
  llvm::Value* result = b.CreateSelect(b.CreateFCmpOLT(ax, o.f(0.625f)), small, large);
  return b.CreateSelect(o.is_nan(x), x, result);
}

llvm::Value* emit_sigmoid_f32(llvm::IRBuilderBase& b, llvm::Value* x) {
  Ops o(b, x->getType());
  llvm::Value* e = emit_exp_f32(b, b.CreateFNeg(x));
  return b.CreateFDiv(o.f(1.0f), b.CreateFAdd(o.f(1.0f), e));
}

} // namespace tessera::internal
