// The memo of Runtime::compile (jit/kernel_cache.h), without a GPU: compiles for an explicit
// CUDA arch (NVRTC) and, when built, for the cpu target. Checks that a kernel compiled twice is
// one CompiledKernel, that every option is part of the key, that a structurally equal kernel
// is found again, that concurrent requests compile once and that failures are not remembered.
#include "base/error.h"
#include "examples/kernels.h"
#include "ir/equal.h"
#include "ir/visitor.h"
#include "jit/compiled_kernel.h"
#include "jit/kernel_cache.h"
#include "jit/target.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <sstream>
#include <thread>
#include <vector>

using namespace tessera;
using Catch::Matchers::Contains;

namespace {

/** Two handles share one compiled state when they share its IR (CompiledKernel has no other
 * identity to compare). */
bool same_state(const CompiledKernel& a, const CompiledKernel& b) {
  return &a.kernel_ir() == &b.kernel_ir();
}

/** Rebuilds every integer constant as a fresh node: the tree is ir::equal to the input but
 * shares none of its inner nodes (the buffers stay the same). */
class FreshConstants : public ir::IRMutator {
protected:
  ir::Expr mutate_int_imm(const ir::IntImm* op, const ir::Expr&) override {
    return ir::IntImm::make(op->type, op->value);
  }
};

struct Delta {
  KernelCacheStats before = KernelCache::global().stats();
  std::size_t compiles() const { return KernelCache::global().stats().compiles - before.compiles; }
  std::size_t hits() const { return KernelCache::global().stats().hits - before.hits; }
};

} // namespace

TEST_CASE("a kernel compiled twice is one CompiledKernel", "[jit][kernel_cache]") {
  const ir::Kernel k = examples::vector_add(512, 128);
  Delta d;
  const CompiledKernel a = Runtime::compile_for(k, "sm_90a");
  const CompiledKernel b = Runtime::compile_for(k, "sm_90a");
  const ir::Kernel copy = k; // a copy of the struct shares every node
  const CompiledKernel c = Runtime::compile_for(copy, "sm_90a");
  CHECK(same_state(a, b));
  CHECK(same_state(a, c));
  CHECK(d.compiles() == 1);
  CHECK(d.hits() == 2);
  CHECK(a.cuda_source() == c.cuda_source());
}

TEST_CASE("a structurally equal kernel is compiled once", "[jit][kernel_cache]") {
  const ir::Kernel k = examples::vector_add(2048, 256);
  ir::Kernel rebuilt = k;
  rebuilt.body = FreshConstants().mutate(k.body);
  REQUIRE_FALSE(rebuilt.body.same_as(k.body));
  REQUIRE(ir::equal(rebuilt.body, k.body));
  Delta d;
  const CompiledKernel a = Runtime::compile_for(k, "sm_80");
  const CompiledKernel b = Runtime::compile_for(rebuilt, "sm_80");
  CHECK(same_state(a, b));
  CHECK(d.compiles() == 1);
}

TEST_CASE("different kernels are different entries", "[jit][kernel_cache]") {
  const ir::Kernel k = examples::rmsnorm(1024);
  Delta d;
  const CompiledKernel a = Runtime::compile_for(k, "sm_90a");
  // Another thread count: another kernel.
  ir::Kernel wider = k;
  wider.threads = 512;
  CHECK_FALSE(same_state(a, Runtime::compile_for(wider, "sm_90a")));
  // Another constant in the body.
  const ir::Kernel eps = examples::rmsnorm(1024, 1e-5f);
  CHECK_FALSE(same_state(a, Runtime::compile_for(eps, "sm_90a")));
  // Traced twice: ir::equal compares buffers by identity, so the second trace is a new kernel
  // (its CUDA is the same, and the runtime's NVRTC cache returns the same program).
  const ir::Kernel again = examples::rmsnorm(1024);
  const CompiledKernel b = Runtime::compile_for(again, "sm_90a");
  CHECK_FALSE(same_state(a, b));
  CHECK(a.program() == b.program());
  CHECK(d.compiles() == 4);
}

TEST_CASE("every option is part of the key", "[jit][kernel_cache]") {
  const ir::Kernel k = examples::softmax(256);
  JitOptions base;
  base.target = Target::cuda;
  base.arch = "sm_90a";
  std::vector<JitOptions> variants(6, base);
  variants[1].arch = "sm_80";
  variants[2].fast_math = true;
  variants[3].lineinfo = true;
  variants[4].device = 1; // an explicit arch compiles for any device index without a GPU
  variants[5].target = Target::automatic; // resolves to cuda for an explicit arch: same key
  Delta d;
  std::vector<CompiledKernel> first;
  for (const JitOptions& o : variants) {
    first.push_back(Runtime::compile(k, o));
  }
  CHECK(d.compiles() == 5);
  for (std::size_t i = 1; i < 5; ++i) {
    INFO("variant " << i);
    CHECK_FALSE(same_state(first[0], first[i]));
  }
  CHECK(same_state(first[0], first[5]));
  for (std::size_t i = 0; i < variants.size(); ++i) {
    INFO("variant " << i);
    CHECK(same_state(first[i], Runtime::compile(k, variants[i])));
  }
  CHECK(d.compiles() == 5);
  CHECK(first[2].cuda_source() == first[0].cuda_source());
  CHECK(first[2].ptx() != first[0].ptx()); // fast math changes the code

  if (cpu_backend_built()) {
    const CompiledKernel cpu = Runtime::compile(k, Target::cpu);
    CHECK(cpu.target() == Target::cpu);
    CHECK_FALSE(same_state(cpu, first[0]));
    CHECK(same_state(cpu, Runtime::compile(k, Target::cpu)));
  }
}

TEST_CASE("concurrent requests for one kernel compile once", "[jit][kernel_cache]") {
  const ir::Kernel k = examples::gated_residual(4096, 256);
  constexpr int kThreads = 8;
  std::vector<CompiledKernel> got(kThreads);
  std::atomic<int> ready{0};
  Delta d;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      ++ready;
      while (ready.load() < kThreads) {
        std::this_thread::yield(); // start together
      }
      got[i] = Runtime::compile_for(k, "sm_90a");
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  CHECK(d.compiles() == 1);
  CHECK(d.hits() == kThreads - 1);
  for (int i = 1; i < kThreads; ++i) {
    CHECK(same_state(got[0], got[i]));
  }
}

TEST_CASE("failed compiles are not remembered", "[jit][kernel_cache]") {
  const ir::Kernel k = examples::vector_add(256, 64);
  JitOptions o;
  o.arch = "sm_bogus";
  Delta d;
  const std::size_t entries = KernelCache::global().stats().entries;
  CHECK_THROWS_AS(Runtime::compile(k, o), UserError);
  CHECK_THROWS_AS(Runtime::compile(k, o), UserError);
  CHECK(d.compiles() == 2);
  CHECK(KernelCache::global().stats().entries == entries);
}

TEST_CASE("a compile that prints its passes is not memoized", "[jit][kernel_cache]") {
  const ir::Kernel k = examples::vector_add(128, 32);
  std::ostringstream first, second;
  JitOptions o;
  o.arch = "sm_90a";
  o.lower.dump = true;
  o.lower.dump_stream = &first;
  CHECK_FALSE(KernelCache::memoizes(o));
  Delta d;
  const CompiledKernel a = Runtime::compile(k, o);
  o.lower.dump_stream = &second;
  const CompiledKernel b = Runtime::compile(k, o);
  CHECK_FALSE(same_state(a, b));
  CHECK(d.compiles() == 2);
  // Both compiles printed their passes.
  CHECK_THAT(first.str(), Contains("IR after"));
  CHECK_THAT(second.str(), Contains("IR after"));
}

TEST_CASE("a private KernelCache forgets on clear", "[jit][kernel_cache]") {
  static std::atomic<int> calls{0};
  calls = 0;
  KernelCache cache;
  const ir::Kernel k = examples::vector_add(1024, 128);
  JitOptions o;
  o.arch = "sm_90a";
  const auto compile = [](const ir::Kernel& kernel, const JitOptions& options) {
    ++calls;
    return Runtime::compile(kernel, options);
  };
  const CompiledKernel a = cache.get(k, o, Target::cuda, compile);
  const CompiledKernel b = cache.get(k, o, Target::cuda, compile);
  CHECK(calls == 1);
  CHECK(same_state(a, b));
  CHECK(cache.stats().entries == 1);
  cache.clear();
  CHECK(cache.stats().entries == 0);
  cache.get(k, o, Target::cuda, compile);
  CHECK(calls == 2);
}
