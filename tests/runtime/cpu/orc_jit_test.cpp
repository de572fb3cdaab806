#include "base/error.h"
#include "runtime/cpu/orc_jit.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

using namespace tessera;
using namespace tessera::cpu;

namespace {

// A vector add with a loop the vectoriser widens, plus a call into libm. Written with typed
// pointers, which LLVM 14 parses as such and 15..19 (opaque pointers) read as `ptr`.
constexpr const char* kVaddIr = R"(
define void @vadd(float* noalias %a, float* noalias %b, float* noalias %c, i64 %n) {
entry:
  %empty = icmp sle i64 %n, 0
  br i1 %empty, label %done, label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %next, %loop ]
  %pa = getelementptr inbounds float, float* %a, i64 %i
  %pb = getelementptr inbounds float, float* %b, i64 %i
  %pc = getelementptr inbounds float, float* %c, i64 %i
  %x = load float, float* %pa, align 4
  %y = load float, float* %pb, align 4
  %s = fadd float %x, %y
  store float %s, float* %pc, align 4
  %next = add nuw nsw i64 %i, 1
  %more = icmp slt i64 %next, %n
  br i1 %more, label %loop, label %done
done:
  ret void
}

declare float @expf(float)

define float @call_expf(float %x) {
  %r = call float @expf(float %x)
  ret float %r
}
)";

} // namespace

TEST_CASE("host CPU detection names a CPU and a triple", "[cpu][jit]") {
  const HostCpu& host = host_cpu();
  CHECK(!host.triple.empty());
  CHECK(!host.name.empty());
}

TEST_CASE("JIT compiles IR text and the code runs", "[cpu][jit]") {
  for (OptLevel level : {OptLevel::O0, OptLevel::O2, OptLevel::O3}) {
    for (bool host : {true, false}) {
      OrcOptions options;
      options.opt = level;
      options.host_features = host;
      options.keep_ir = true;
      OrcModule m = jit_compile_ir_text(kVaddIr, "vadd_test", {"vadd", "call_expf"}, options);
      REQUIRE(m);
      INFO(options.describe());
      auto* vadd =
          m.lookup_function<void(const float*, const float*, float*, std::int64_t)>("vadd");
      std::mt19937 rng(7);
      std::uniform_real_distribution<float> dist(-10.0f, 10.0f);
      for (std::int64_t n : {0, 1, 7, 1000, 1027}) {
        std::vector<float> a(n), b(n), c(n + 1, std::nanf(""));
        for (std::int64_t i = 0; i < n; ++i) {
          a[i] = dist(rng);
          b[i] = dist(rng);
        }
        vadd(a.data(), b.data(), c.data(), n);
        for (std::int64_t i = 0; i < n; ++i) {
          REQUIRE(c[i] == a[i] + b[i]);
        }
        CHECK(std::isnan(c[n])); // nothing written past the end
      }
      auto* call_expf = m.lookup_function<float(float)>("call_expf");
      CHECK(call_expf(1.5f) == std::exp(1.5f));
      CHECK(m.timings().total_ms > 0);
      CHECK(m.optimized_ir().find("@vadd") != std::string::npos);
      CHECK_THROWS_AS(m.lookup("no_such_function"), CompileError);
    }
  }
}

TEST_CASE("JIT reports bad IR as a CompileError with LLVM's diagnostic", "[cpu][jit]") {
  try {
    jit_compile_ir_text("define void @f( {", "broken", {"f"});
    FAIL("no exception");
  } catch (const CompileError& e) {
    CHECK(std::string(e.what()).find("broken") != std::string::npos);
    CHECK(!e.log().empty());
  }
  CHECK_THROWS_AS(jit_compile_ir_text("define void @f() {\n  ret void\n}\n", "missing", {"g"}),
                  CompileError);
}
