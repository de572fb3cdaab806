// The Target facade (jit/target.h, Runtime::compile with JitOptions::target): choosing a
// target, compiling and launching one DSL kernel on the CPU backend through CompiledKernel, and
// the errors for memory of the wrong kind. Runs with or without a GPU and the LLVM backend.
#include "base/error.h"
#include "codegen/lower.h"
#include "examples/kernels.h"
#include "jit/compiled_kernel.h"
#include "jit/target.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

using namespace tessera;
using Catch::Matchers::Contains;

namespace {

std::vector<float> random_floats(std::size_t n, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(-2.0f, 2.0f);
  std::vector<float> v(n);
  for (float& x : v) {
    x = d(gen);
  }
  return v;
}

TensorView host(std::vector<float>& v) {
  return TensorView(v.data(), DType::f32, {static_cast<std::int64_t>(v.size())}, MemoryKind::host);
}

} // namespace

TEST_CASE("targets parse and print", "[codegen][target]") {
  for (Target t : {Target::automatic, Target::cuda, Target::cpu}) {
    CHECK(parse_target(target_name(t)) == t);
  }
  CHECK_THROWS_AS(parse_target("gpu", "--target"), UserError);
  CHECK_THROWS_WITH(parse_target("gpu", "--target"),
                    Contains("--target") && Contains("'gpu'") && Contains("auto, cuda or cpu"));
  CHECK(memory_kind(Target::cpu) == MemoryKind::host);
  CHECK(memory_kind(Target::cuda) == MemoryKind::cuda);
}

TEST_CASE("the automatic target is cuda with a GPU, else cpu, else a clear error",
          "[codegen][target]") {
  CHECK(resolve_target(Target::cuda) == Target::cuda);
  if (cuda_device_present()) {
    CHECK(resolve_target(Target::automatic) == Target::cuda);
  } else if (cpu_backend_built()) {
    CHECK(resolve_target(Target::automatic) == Target::cpu);
  } else {
    CHECK_THROWS_WITH(resolve_target(Target::automatic),
                      Contains("no CUDA GPU") && Contains("without the LLVM CPU backend"));
  }
  if (cpu_backend_built()) {
    CHECK(resolve_target(Target::cpu) == Target::cpu);
  } else {
    CHECK_THROWS_WITH(resolve_target(Target::cpu), Contains("without the LLVM CPU backend"));
    CHECK_THROWS_WITH(Runtime::compile(examples::vector_add(), Target::cpu),
                      Contains("without the LLVM CPU backend"));
  }
}

TEST_CASE("an explicit arch means the cuda target", "[codegen][target]") {
  const CompiledKernel k = Runtime::compile_for(examples::vector_add(), "sm_90a");
  CHECK(k.target() == Target::cuda);
  JitOptions o;
  o.arch = "sm_80";
  CHECK(Runtime::compile(examples::vector_add(), o).target() == Target::cuda);
  if (cpu_backend_built()) {
    o.target = Target::cpu;
    CHECK_THROWS_WITH(Runtime::compile(examples::vector_add(), o),
                      Contains("'sm_80' is a CUDA arch") && Contains("cpu"));
  }
}

TEST_CASE("a cpu-target CompiledKernel runs on host tensors", "[codegen][target]") {
  if (!cpu_backend_built()) {
    return; // covered by the error checks above
  }
  const CompiledKernel k = Runtime::compile(examples::vector_add(), Target::cpu);
  REQUIRE(k.target() == Target::cpu);
  CHECK(k.name() == "vector_add");
  CHECK(k.shared_bytes() == 0);
  // The CPU runs every lowering pass too: the same pipeline as CUDA, thread-level IR at the end.
  REQUIRE(k.ir_after_passes().size() == tessera::codegen::pass_names().size());
  CHECK(k.ir_after_passes().back().pass == "plan_shared_memory");
  CHECK(k.ir_after_passes().back().ir.find("fragment") == std::string::npos);
  CHECK(k.timings().llvm_ms >= 0);
  CHECK_THROWS_WITH(k.cuda_source(), Contains("only for the cuda target"));
  CHECK_THROWS_WITH(k.ptx(), Contains("only for the cuda target"));
  CHECK_THROWS_WITH(k.resources(), Contains("only for the cuda target"));
  CHECK_THROWS_AS(k.program(), UserError);

  for (std::int64_t n : {1, 1000, 4099}) {
    auto x = random_floats(n, 1), y = random_floats(n, 2);
    std::vector<float> z(n, std::numeric_limits<float>::quiet_NaN()); // poisoned
    k.launch(nullptr, host(x), host(y), host(z));
    for (std::int64_t i = 0; i < n; ++i) {
      REQUIRE(z[i] == x[i] + y[i]); // one f32 rounding, as on the device
    }
  }

  // A scalar parameter converted from KernelArg: the tutorial kernel's f32 scale.
  const CompiledKernel tut = Runtime::compile(examples::gated_residual(256), Target::cpu);
  const std::int64_t T = 3, H = 256;
  std::vector<bf16> xs(T * H, bf16(1.0f)), ys(T * H, bf16(2.0f)), out(T * H, bf16(-7.0f));
  std::vector<float> gate(T, 0.0f); // sigmoid(0) = 0.5
  tut.launch(nullptr, TensorView(xs.data(), DType::bf16, {T, H}, MemoryKind::host),
             TensorView(ys.data(), DType::bf16, {T, H}, MemoryKind::host),
             TensorView(gate.data(), DType::f32, {T}, MemoryKind::host),
             TensorView(out.data(), DType::bf16, {T, H}, MemoryKind::host), 0.5f);
  for (const bf16& v : out) {
    REQUIRE(static_cast<float>(v) == 1.5f); // 1 + 0.5 * 0.5 * 2
  }
}

TEST_CASE("memory of the wrong kind names the target", "[codegen][target]") {
  std::vector<float> x(64, 1.0f), y(64, 1.0f), z(64);
  const TensorView hx = host(x), hy = host(y), hz = host(z);
  const TensorView dz(reinterpret_cast<void*>(0x10000), DType::f32, {64}, MemoryKind::cuda);
  if (cpu_backend_built()) {
    const CompiledKernel k = Runtime::compile(examples::vector_add(), Target::cpu);
    CHECK_THROWS_AS(k.launch(nullptr, hx, hy, dz), UserError);
    CHECK_THROWS_WITH(k.launch(nullptr, hx, hy, dz),
                      Contains("'z'") && Contains("host memory") && Contains("cpu target"));
  }
  const CompiledKernel c = Runtime::compile_for(examples::vector_add(), "sm_90a");
  CHECK_THROWS_WITH(c.launch(nullptr, hx, hy, hz),
                    Contains("'x'") && Contains("device memory") && Contains("cuda target"));
}
