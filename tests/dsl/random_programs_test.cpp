// Random DSL programs from a small grammar of the builder API (copies between global rows,
// fragments, shared tiles and locals; fills; elementwise loops over random expression trees;
// reductions; prefix sums; guarded stores; and deliberate mistakes: shape mismatches, stores to
// inputs, out-of-range indices). Each program must either trace, verify, lower for both
// targets and emit CUDA, or be refused with a UserError — never crash, hang or throw anything
// else (an InternalError is a compiler bug). Seeds are fixed, so a failure names a replayable
// seed. The grammar-driven libFuzzer target this approximates is listed in docs/reliability.md.
#include "base/error.h"
#include "codegen/lower.h"
#include "codegen/target_info.h"
#include "dsl/builder.h"
#include "jit/compiled_kernel.h"

#include <catch2/catch.hpp>
#include <functional>
#include <random>
#include <string>
#include <vector>

using namespace tessera::dsl;
namespace ir = tessera::ir;

namespace {

class Generator {
public:
  explicit Generator(std::uint32_t seed) : rng_(seed) {}

  ir::Kernel program() {
    KernelBuilder kb("random");
    Dim T = kb.dim("T");
    const std::int64_t H = pick<std::int64_t>({8, 64, 100, 256, 1000, 2048});
    const int nthreads = pick({32, 64, 128, 256});
    const tessera::DType din = pick({bf16, f32}), dout = pick({bf16, f32});
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
    const auto i = std::uniform_int_distribution<std::size_t>(0, options.size() - 1)(rng_);
    return *(options.begin() + static_cast<std::ptrdiff_t>(i));
  }
  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

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

  std::mt19937 rng_;
};

/** Traces, lowers for both targets and emits; "" when that worked or ended in a UserError, else
 * what went wrong. */
std::string run(std::uint32_t seed, int* refused) {
  try {
    const ir::Kernel k = Generator(seed).program();
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

} // namespace

TEST_CASE("random DSL programs compile or are refused with a UserError", "[dsl][random]") {
  int refused = 0;
  constexpr std::uint32_t kPrograms = 2000;
  for (std::uint32_t seed = 1; seed <= kPrograms; ++seed) {
    const std::string problem = run(seed, &refused);
    INFO("seed " << seed);
    REQUIRE(problem.empty());
  }
  WARN(refused << " of " << kPrograms << " programs refused with a UserError");
  // Both outcomes are exercised: the grammar is neither all mistakes nor mistake-free.
  CHECK(refused > 10);
  CHECK(refused < static_cast<int>(kPrograms) - 10);
}
