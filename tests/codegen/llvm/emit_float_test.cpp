// Bit-exactness of the IR bf16/f16 conversions against base/float16.h, and the accuracy of
// the inline math functions against double-precision libm. Each emitter is compiled inside a
// loop, at O3 for the host, so the vectorised form is what gets tested.
#include "base/float16.h"
#include "codegen/llvm/emit_float.h"
#include "runtime/cpu/llvm_compat.h"
#include "runtime/cpu/orc_jit_llvm.h"

#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <llvm/IR/Function.h>
#include <llvm/IR/Module.h>
#include <random>
#include <vector>

using namespace tessera;

namespace {

using Emitter = std::function<llvm::Value*(llvm::IRBuilderBase&, llvm::Value*)>;

// void name(const In* in, Out* out, i64 n) { for i < n: out[i] = emit(in[i]); }
void add_map_function(llvm::Module& m, const char* name, llvm::Type* in_ty, llvm::Type* out_ty,
                      const Emitter& emit) {
  llvm::LLVMContext& ctx = m.getContext();
  llvm::Type* i64 = llvm::Type::getInt64Ty(ctx);
  auto* fn_ty = llvm::FunctionType::get(
      llvm::Type::getVoidTy(ctx), {internal::ptr_to(in_ty), internal::ptr_to(out_ty), i64}, false);
  auto* fn = llvm::Function::Create(fn_ty, llvm::Function::ExternalLinkage, name, m);
  fn->addParamAttr(0, llvm::Attribute::NoAlias);
  fn->addParamAttr(1, llvm::Attribute::NoAlias);
  auto* entry = llvm::BasicBlock::Create(ctx, "entry", fn);
  auto* loop = llvm::BasicBlock::Create(ctx, "loop", fn);
  auto* done = llvm::BasicBlock::Create(ctx, "done", fn);
  llvm::IRBuilder<> b(entry);
  b.CreateCondBr(b.CreateICmpSGT(fn->getArg(2), b.getInt64(0)), loop, done);
  b.SetInsertPoint(loop);
  auto* i = b.CreatePHI(i64, 2);
  i->addIncoming(b.getInt64(0), entry);
  llvm::Value* x = b.CreateLoad(in_ty, b.CreateInBoundsGEP(in_ty, fn->getArg(0), {i}));
  b.CreateStore(emit(b, x), b.CreateInBoundsGEP(out_ty, fn->getArg(1), {i}));
  llvm::Value* next = b.CreateAdd(i, b.getInt64(1));
  i->addIncoming(next, loop);
  b.CreateCondBr(b.CreateICmpSLT(next, fn->getArg(2)), loop, done);
  b.SetInsertPoint(done);
  b.CreateRetVoid();
}

template <class In, class Out> using MapFn = void (*)(const In*, Out*, std::int64_t);

struct Compiled {
  cpu::OrcModule module;
  MapFn<float, std::uint16_t> to_bf16, to_f16;
  MapFn<std::uint16_t, float> from_bf16, from_f16;
  MapFn<float, float> exp, log, tanh, sigmoid, exp2, log2;
};

const Compiled& compiled() {
  static const Compiled c = [] {
    auto ctx = internal::make_llvm_context();
    auto m = std::make_unique<llvm::Module>("emit_float_test", *ctx);
    llvm::Type* f32 = llvm::Type::getFloatTy(*ctx);
    llvm::Type* i16 = llvm::Type::getInt16Ty(*ctx);
    add_map_function(*m, "to_bf16", f32, i16, internal::emit_f32_to_bf16);
    add_map_function(*m, "to_f16", f32, i16, internal::emit_f32_to_f16);
    add_map_function(*m, "from_bf16", i16, f32, internal::emit_bf16_to_f32);
    add_map_function(*m, "from_f16", i16, f32, internal::emit_f16_to_f32);
    add_map_function(*m, "exp", f32, f32, internal::emit_exp_f32);
    add_map_function(*m, "log", f32, f32, internal::emit_log_f32);
    add_map_function(*m, "tanh", f32, f32, internal::emit_tanh_f32);
    add_map_function(*m, "sigmoid", f32, f32, internal::emit_sigmoid_f32);
    add_map_function(*m, "exp2", f32, f32, internal::emit_exp2_f32);
    add_map_function(*m, "log2", f32, f32, internal::emit_log2_f32);
    const std::vector<std::string> names = {"to_bf16", "to_f16", "from_bf16", "from_f16", "exp",
                                            "log",     "tanh",   "sigmoid",   "exp2",     "log2"};
    Compiled r;
    r.module = cpu::internal::compile_module(std::move(ctx), std::move(m), names, {});
    r.to_bf16 =
        r.module.lookup_function<void(const float*, std::uint16_t*, std::int64_t)>("to_bf16");
    r.to_f16 = r.module.lookup_function<void(const float*, std::uint16_t*, std::int64_t)>("to_f16");
    r.from_bf16 =
        r.module.lookup_function<void(const std::uint16_t*, float*, std::int64_t)>("from_bf16");
    r.from_f16 =
        r.module.lookup_function<void(const std::uint16_t*, float*, std::int64_t)>("from_f16");
    r.exp = r.module.lookup_function<void(const float*, float*, std::int64_t)>("exp");
    r.log = r.module.lookup_function<void(const float*, float*, std::int64_t)>("log");
    r.tanh = r.module.lookup_function<void(const float*, float*, std::int64_t)>("tanh");
    r.sigmoid = r.module.lookup_function<void(const float*, float*, std::int64_t)>("sigmoid");
    r.exp2 = r.module.lookup_function<void(const float*, float*, std::int64_t)>("exp2");
    r.log2 = r.module.lookup_function<void(const float*, float*, std::int64_t)>("log2");
    return r;
  }();
  return c;
}

// Float inputs: every 2^32 / 2^24 pattern stepped by an odd stride (all exponents, both signs,
// NaN payloads), plus rounding ties and boundaries of both formats.
std::vector<float> float_inputs() {
  std::vector<float> v;
  for (std::uint64_t u = 0; u < (1ull << 32); u += 251) {
    v.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(u)));
  }
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    // Exactly halfway between neighbouring bf16 / f16 values, and one ulp either side.
    for (std::uint32_t base : {h << 16, (h << 16) | 0x8000u}) {
      for (std::uint32_t delta : {0u, 1u, 0xffffffffu}) {
        v.push_back(std::bit_cast<float>(base + delta));
      }
    }
    const float f = f16_bits_to_float(static_cast<std::uint16_t>(h));
    const float next = f16_bits_to_float(static_cast<std::uint16_t>(h + 1));
    if (std::isfinite(f) && std::isfinite(next)) {
      const float mid = (f + next) / 2; // exact: halves have 11 bits
      v.push_back(mid);
      v.push_back(std::nextafter(mid, 0.0f));
      v.push_back(std::nextafter(mid, std::numeric_limits<float>::infinity()));
    }
  }
  for (float f :
       {65504.0f, 65519.99f, 65520.0f, 1e30f, 5.9604645e-8f, 2.9802322e-8f, 2.9802326e-8f, -0.0f,
        std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
        std::numeric_limits<float>::denorm_min()}) {
    v.push_back(f);
  }
  return v;
}

// Distance in units in the last place between float results, via the ordered integer line.
double ulp_distance(float got, double want) {
  const float w = static_cast<float>(want);
  auto ordered = [](float f) {
    const std::int32_t i = std::bit_cast<std::int32_t>(f);
    return i < 0 ? std::int64_t(std::numeric_limits<std::int32_t>::min()) - i : std::int64_t(i);
  };
  return static_cast<double>(std::llabs(ordered(got) - ordered(w)));
}

} // namespace

TEST_CASE("IR float -> bf16 is bit-exact with float_to_bf16_bits", "[cpu][convert]") {
  const std::vector<float> in = float_inputs();
  std::vector<std::uint16_t> out(in.size() + 1, 0xdead);
  compiled().to_bf16(in.data(), out.data(), static_cast<std::int64_t>(in.size()));
  std::size_t bad = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (out[i] != float_to_bf16_bits(in[i]) && bad++ == 0) {
      FAIL_CHECK("input bits 0x" << std::hex << std::bit_cast<std::uint32_t>(in[i]) << " got 0x"
                                 << out[i] << " want 0x" << float_to_bf16_bits(in[i]));
    }
  }
  CHECK(bad == 0);
  CHECK(out.back() == 0xdead);
}

TEST_CASE("IR float -> f16 is bit-exact with float_to_f16_bits", "[cpu][convert]") {
  const std::vector<float> in = float_inputs();
  std::vector<std::uint16_t> out(in.size() + 1, 0xdead);
  compiled().to_f16(in.data(), out.data(), static_cast<std::int64_t>(in.size()));
  std::size_t bad = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (out[i] != float_to_f16_bits(in[i]) && bad++ == 0) {
      FAIL_CHECK("input bits 0x" << std::hex << std::bit_cast<std::uint32_t>(in[i]) << " got 0x"
                                 << out[i] << " want 0x" << float_to_f16_bits(in[i]));
    }
  }
  CHECK(bad == 0);
  CHECK(out.back() == 0xdead);
}

TEST_CASE("IR bf16 / f16 -> float is bit-exact for all 65536 patterns", "[cpu][convert]") {
  std::vector<std::uint16_t> in(0x10000);
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    in[h] = static_cast<std::uint16_t>(h);
  }
  std::vector<float> out(in.size());
  compiled().from_bf16(in.data(), out.data(), static_cast<std::int64_t>(in.size()));
  std::size_t bad = 0;
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    bad += std::bit_cast<std::uint32_t>(out[h]) !=
           std::bit_cast<std::uint32_t>(bf16_bits_to_float(in[h]));
  }
  CHECK(bad == 0);
  compiled().from_f16(in.data(), out.data(), static_cast<std::int64_t>(in.size()));
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    bad += std::bit_cast<std::uint32_t>(out[h]) !=
           std::bit_cast<std::uint32_t>(f16_bits_to_float(in[h]));
  }
  CHECK(bad == 0);
}

namespace {

struct Accuracy {
  double max_ulp = 0;
  float worst_input = 0;
};

// Max ulp error of `fn` against `ref` (in double) over inputs; special values must match exactly.
Accuracy measure(MapFn<float, float> fn, double (*ref)(double), const std::vector<float>& in) {
  std::vector<float> out(in.size());
  fn(in.data(), out.data(), static_cast<std::int64_t>(in.size()));
  Accuracy acc;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const double want = ref(static_cast<double>(in[i]));
    if (std::isnan(want) != std::isnan(out[i])) {
      FAIL("x = " << in[i] << " got " << out[i] << " want " << want);
    }
    if (std::isnan(want)) {
      continue;
    }
    const double ulp = ulp_distance(out[i], want);
    if (ulp > acc.max_ulp) {
      acc.max_ulp = ulp;
      acc.worst_input = in[i];
    }
  }
  return acc;
}

std::vector<float> math_inputs(float lo, float hi, std::size_t n) {
  std::vector<float> v;
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> uniform(lo, hi);
  for (std::size_t i = 0; i < n; ++i) {
    v.push_back(uniform(rng));
  }
  // Every float in the range stepped through, so that tiny magnitudes are covered too.
  for (std::uint64_t u = 0; u < (1ull << 32); u += 4099) {
    const float f = std::bit_cast<float>(static_cast<std::uint32_t>(u));
    if (f >= lo && f <= hi) {
      v.push_back(f);
    }
  }
  for (float f :
       {0.0f, -0.0f, lo, hi, std::numeric_limits<float>::infinity(),
        -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()}) {
    v.push_back(f);
  }
  return v;
}

double sigmoid_ref(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}
double exp_ref(double x) {
  return std::exp(x);
}
double log_ref(double x) {
  return std::log(x);
}
double tanh_ref(double x) {
  return std::tanh(x);
}
double exp2_ref(double x) {
  return std::exp2(x);
}
double log2_ref(double x) {
  return std::log2(x);
}

} // namespace

// The bounds below are the documented accuracy (docs/cpu-backend.md), as measured over these
// inputs (about 2 million per function, random and a sweep of every magnitude).
TEST_CASE("inline exp is within 1 ulp", "[cpu][math]") {
  const Accuracy a = measure(compiled().exp, exp_ref, math_inputs(-110.0f, 90.0f, 1 << 20));
  INFO("worst x = " << a.worst_input);
  CHECK(a.max_ulp <= 1);
  WARN("exp max ulp " << a.max_ulp << " at x = " << a.worst_input);
}

TEST_CASE("inline log is within 1 ulp", "[cpu][math]") {
  const Accuracy a = measure(compiled().log, log_ref,
                             math_inputs(-1.0f, std::numeric_limits<float>::max(), 1 << 20));
  INFO("worst x = " << a.worst_input);
  CHECK(a.max_ulp <= 1);
  WARN("log max ulp " << a.max_ulp << " at x = " << a.worst_input);
}

TEST_CASE("inline tanh is within 1 ulp and sigmoid within 3 ulp", "[cpu][math]") {
  const Accuracy t = measure(compiled().tanh, tanh_ref, math_inputs(-20.0f, 20.0f, 1 << 20));
  INFO("tanh worst x = " << t.worst_input);
  CHECK(t.max_ulp <= 1);
  WARN("tanh max ulp " << t.max_ulp << " at x = " << t.worst_input);
  const Accuracy s = measure(compiled().sigmoid, sigmoid_ref, math_inputs(-80.0f, 80.0f, 1 << 20));
  INFO("sigmoid worst x = " << s.worst_input);
  CHECK(s.max_ulp <= 3);
  WARN("sigmoid max ulp " << s.max_ulp << " at x = " << s.worst_input);
}

TEST_CASE("inline exp2 is within 1 ulp and log2 within 2 ulp", "[cpu][math]") {
  const Accuracy e = measure(compiled().exp2, exp2_ref, math_inputs(-155.0f, 130.0f, 1 << 20));
  INFO("exp2 worst x = " << e.worst_input);
  CHECK(e.max_ulp <= 1);
  WARN("exp2 max ulp " << e.max_ulp << " at x = " << e.worst_input);
  const Accuracy l = measure(compiled().log2, log2_ref,
                             math_inputs(-1.0f, std::numeric_limits<float>::max(), 1 << 20));
  INFO("log2 worst x = " << l.worst_input);
  CHECK(l.max_ulp <= 2);
  WARN("log2 max ulp " << l.max_ulp << " at x = " << l.worst_input);
  // Exact at integers / powers of two, as the device's exp2f / log2f.
  std::vector<float> ints, outs(300);
  for (int i = -149; i <= 127; ++i) {
    ints.push_back(static_cast<float>(i));
  }
  compiled().exp2(ints.data(), outs.data(), static_cast<std::int64_t>(ints.size()));
  for (std::size_t i = 0; i < ints.size(); ++i) {
    REQUIRE(outs[i] == std::ldexp(1.0f, static_cast<int>(ints[i])));
  }
  std::vector<float> pows;
  for (int i = -149; i <= 127; ++i) {
    pows.push_back(std::ldexp(1.0f, i));
  }
  compiled().log2(pows.data(), outs.data(), static_cast<std::int64_t>(pows.size()));
  for (std::size_t i = 0; i < pows.size(); ++i) {
    REQUIRE(outs[i] == static_cast<float>(static_cast<int>(i) - 149));
  }
}
