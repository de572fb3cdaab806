/** \file
 * A grammar of the DSL builder API that makes random small programs (copies between global
 * rows, fragments, shared tiles and locals; fills; elementwise loops over random expression
 * trees; reductions; prefix sums; guarded stores; and deliberate mistakes: shape mismatches,
 * stores to inputs, out-of-range indices), and the property every such program must have:
 * it traces, verifies, lowers for both targets and emits CUDA, or it is refused with a
 * UserError — never a crash, a hang or another exception (an InternalError is a compiler bug).
 * Shared by the seeded ctest (tests/dsl/random_programs_test.cpp) and the coverage-guided
 * libFuzzer target (tests/fuzz/dsl_fuzz.cpp), which differ only in where choices come from.
 */
#pragma once

#include "base/error.h"
#include "codegen/lower.h"
#include "codegen/target_info.h"
#include "dsl/builder.h"
#include "jit/compiled_kernel.h"

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace tessera::testing {

/** Where the grammar's choices come from. */
class Choices {
public:
  virtual ~Choices() = default;
  /** A value in [lo, hi]. */
  virtual int uniform(int lo, int hi) = 0;
};

/** Choices from a seeded generator: a failure names a replayable seed. */
class SeededChoices final : public Choices {
public:
  explicit SeededChoices(std::uint32_t seed) : rng_(seed) {}
  int uniform(int lo, int hi) override { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

private:
  std::mt19937 rng_;
};

/** Choices read from a fuzzer's bytes, one byte per choice; once the bytes run out every choice
 * is `lo`, which ends the program (the statement count is a choice too). */
class ByteChoices final : public Choices {
public:
  ByteChoices(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  int uniform(int lo, int hi) override {
    if (next_ >= size_ || hi <= lo) {
      return lo;
    }
    return lo + static_cast<int>(data_[next_++] % static_cast<unsigned>(hi - lo + 1));
  }

private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t next_ = 0;
};

namespace grammar {

using namespace tessera::dsl;

class Generator {
public:
  explicit Generator(Choices& choices) : choices_(choices) {}

  tessera::ir::Kernel program() {
    KernelBuilder kb("random");
    Dim T = kb.dim("T");
    const std::int64_t H = pick<std::int64_t>({8, 64, 100, 256, 1000, 2048});
    const int nthreads = pick({32, 64, 128, 256});
    const tessera::DType din = pick({dsl::bf16, f32}), dout = pick({dsl::bf16, f32});
    auto x = kb.input("x", din, {T, H});
    auto y = kb.output("y", dout, {T, H});
    auto r = kb.output("r", f32, {T});
    kb.launch(grid(T), threads(nthreads), [&](Var t) {
      std::vector<TileRef> frags;
      frags.push_back(fragment(f32, {H}, "f0"));
      copy(x[t], frags.back());
      const int statements = uniform(1, 6);
      for (int i = 0; i < statements; ++i) {
        statement(x, y, r, t, H, frags);
      }
      copy(frags[uniform(0, static_cast<int>(frags.size()) - 1)], y[t]);
    });
    return kb.build();
  }

private:
  template <class V> V pick(std::initializer_list<V> options) {
    const int i = uniform(0, static_cast<int>(options.size()) - 1);
    return *(options.begin() + i);
  }
  int uniform(int lo, int hi) { return choices_.uniform(lo, hi); }

  Expr expression(const std::vector<TileRef>& frags, Var h, int depth) {
    if (depth == 0 || uniform(0, 3) == 0) {
      if (uniform(0, 2) == 0) {
        return Expr(static_cast<float>(uniform(-4, 4)) * 0.5f);
      }
      return frags[uniform(0, static_cast<int>(frags.size()) - 1)][h];
    }
    const Expr a = expression(frags, h, depth - 1);
    switch (uniform(0, 7)) {
    case 0:
      return a + expression(frags, h, depth - 1);
    case 1:
      return a * expression(frags, h, depth - 1);
    case 2:
      return max(a, expression(frags, h, depth - 1));
    case 3:
      return sigmoid(a);
    case 4:
      return abs(a);
    case 5:
      return select(a > 0.0f, a, expression(frags, h, depth - 1));
    case 6:
      return exp(min(a, Expr(10.0f)));
    default:
      return a - expression(frags, h, depth - 1);
    }
  }

  void statement(TileRef x, TileRef y, TileRef r, Var t, std::int64_t H,
                 std::vector<TileRef>& frags) {
    const std::string name = "f" + std::to_string(frags.size());
    TileRef any = frags[uniform(0, static_cast<int>(frags.size()) - 1)];
    switch (pick({0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 5, 5, 9, 9, 6, 7, 8})) { // 3 mistakes in 17
    case 0: {                                                            // a filled fragment
      frags.push_back(fragment(f32, {H}, name));
      fill(frags.back(), static_cast<float>(uniform(-3, 3)));
      break;
    }
    case 1: { // an elementwise loop into a new or an existing fragment
      if (uniform(0, 1) == 0) {
        frags.push_back(fragment(f32, {H}, name));
      }
      TileRef dst = frags.back();
      const std::vector<TileRef> srcs = frags;
      parallel({H}, [&](Var h) { dst[h] = expression(srcs, h, 3); });
      break;
    }
    case 2: { // a reduction to a per-block scalar, stored by one thread
      auto s = local(f32, {}, "s" + name);
      if (uniform(0, 1) == 0) {
        reduce_sum(any, s, 0);
      } else {
        reduce_max(any, s, 0);
      }
      if_(thread_idx() == 0, [&] { r[t] = s; });
      break;
    }
    case 3: { // a round trip through shared memory
      auto sm = shared(f32, {H}, "sm" + name);
      copy(any, sm);
      frags.push_back(fragment(f32, {H}, name));
      copy(sm, frags.back());
      break;
    }
    case 4: // an inclusive prefix sum in place
      cumsum(any, any);
      break;
    case 5: // a second read of the input row
      frags.push_back(fragment(f32, {H}, name));
      copy(x[t], frags.back());
      break;
    case 6: { // mistake: shapes that do not match
      auto wrong = fragment(f32, {H + uniform(1, 7)}, name);
      copy(x[t], wrong);
      break;
    }
    case 7: // mistake: a store to an input tensor
      copy(any, x[t]);
      break;
    case 8: // mistake: an element index outside the fragment
      any[H + uniform(0, 3)] = 1.0f;
      break;
    default: // a partial row of the output, through a slice
      copy(any[range(0, H / 2 + 1)], y[t][range(0, H / 2 + 1)]);
      break;
    }
  }

  Choices& choices_;
};

} // namespace grammar

/** Builds one program from `choices`, traces, lowers for both targets and emits; "" when that
 * worked or ended in a UserError (counted in `refused`), else what went wrong. */
inline std::string compile_random_program(Choices& choices, int* refused) {
  try {
    const tessera::ir::Kernel k = grammar::Generator(choices).program();
    tessera::codegen::LowerOptions cpu;
    cpu.target = &tessera::codegen::cpu_target();
    tessera::codegen::lower(k, cpu);
    const std::string cuda = tessera::Runtime::emit(k);
    return cuda.find("__global__") != std::string::npos ? "" : "no kernel in the emitted CUDA";
  } catch (const tessera::UserError&) {
    ++*refused;
    return "";
  } catch (const std::exception& e) {
    return std::string("not a UserError: ") + e.what();
  }
}

} // namespace tessera::testing
