// CPU backend benchmark: JIT time (DSL kernel -> native code) per kernel, this machine's memcpy
// bandwidth, and the throughput of mhc_post and mhc_pre on the CPU backend next to it and to the
// C++ references. Traffic counts bytes read + bytes written (memcpy moves 2x its size).
//
//   cpu_jit_bench [T] [H]     (defaults: T = 1024, H = 4096)
#include "dsl/builder.h"
#include "jit/compiled_kernel.h"
#include "jit/kernel_cache.h"
#include "kernels/mhc/config.h"
#include "kernels/mhc/inputs.h"
#include "kernels/mhc/kernels.h"
#include "kernels/mhc/ops.h"
#include "kernels/mhc/reference.h"
#include "runtime/cpu/orc_jit.h"
#include "runtime/cpu/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

using namespace tessera;
namespace mk = tessera::mhc::kernels;
using Clock = std::chrono::steady_clock;

namespace {

double seconds(const std::function<void()>& fn, int reps) {
  fn(); // warm up (page faults, caches)
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = Clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return best;
}

TensorView host(const void* p, DType t, std::initializer_list<std::int64_t> shape) {
  return TensorView(const_cast<void*>(p), t, shape, MemoryKind::host);
}

ir::Kernel vector_add() {
  using namespace tessera::dsl;
  KernelBuilder kb("vector_add");
  Dim n = kb.dim("n");
  auto x = kb.input("x", f32, {n});
  auto y = kb.input("y", f32, {n});
  auto z = kb.output("z", f32, {n});
  kb.launch(grid(ceil_div(n, 1024)), threads(256), [&](Var b) {
    auto a = fragment(f32, {1024}, "a");
    auto c = fragment(f32, {1024}, "c");
    copy(x[tile(b, 1024)], a);
    copy(y[tile(b, 1024)], c);
    parallel({1024}, [&](Var i) { a[i] = a[i] + c[i]; });
    copy(a, z[tile(b, 1024)]);
  });
  return kb.build();
}

CompiledKernel compile_cpu(const ir::Kernel& k) {
  return Runtime::compile(k, Target::cpu);
}

void jit_row(const char* name, const ir::Kernel& k) {
  KernelCache::global().clear();
  const auto t0 = Clock::now();
  const CompiledKernel ck = compile_cpu(k);
  const double wall = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  const CompileTimings& t = ck.timings();
  std::printf("| %-22s | %7.1f | %9.1f | %7.1f | %7.1f |\n", name, t.passes_ms, t.emit_ms,
              t.llvm_ms, wall);
}

} // namespace

int main(int argc, char** argv) {
  const std::int64_t T = argc > 1 ? std::atoll(argv[1]) : 1024;
  const std::int64_t H = argc > 2 ? std::atoll(argv[2]) : 4096;
  const auto& host_cpu = cpu::host_cpu();
  std::printf("host: %s (%s), %u pool threads\n\n", host_cpu.name.c_str(), host_cpu.triple.c_str(),
              cpu::ThreadPool::global().size());

  // --- JIT time ---------------------------------------------------------------------------------
  mhc::Config c;
  c.hidden = H;
  c.gemm_precision = mhc::GemmPrecision::fp32;
  const int n = c.n(), M3 = c.mix_count();
  std::printf("JIT time per kernel (ms, cold: memo cleared; passes, translation to LLVM IR, LLVM "
              "optimisation + native code)\n\n");
  std::printf("| kernel                 | passes  | translate | LLVM    | total   |\n");
  std::printf("|------------------------|---------|-----------|---------|---------|\n");
  jit_row("vector_add", vector_add());
  jit_row("mhc_post", mk::post({.hidden = H, .n = n, .tile_h = 512}));
  mk::StageAParams sa;
  sa.k = c.k();
  sa.rows = M3;
  sa.splits = 1;
  sa.precision = c.gemm_precision;
  jit_row("mhc_stage_a", mk::stage_a(sa));
  for (auto v :
       {mk::BigFuseVariant::plain, mk::BigFuseVariant::norm, mk::BigFuseVariant::broadcast}) {
    const std::string name = std::string("mhc_big_fuse_") + mk::variant_name(v);
    jit_row(name.c_str(), mk::big_fuse(mk::big_fuse_params(c, 1, v)));
  }
  jit_row("mhc_fused_post", mk::fused_post({.hidden = H, .n = n}));
  jit_row("mhc_head_collapse", mk::head_collapse({.hidden = H, .n = n}));
  jit_row("mhc_sinkhorn", mk::sinkhorn({.n = n}));

  // --- memcpy bandwidth -------------------------------------------------------------------------
  const std::size_t bytes = std::size_t(256) << 20;
  std::vector<char> src(bytes, 1), dst(bytes, 0);
  const double t1 = seconds([&] { std::memcpy(dst.data(), src.data(), bytes); }, 5);
  cpu::ThreadPool& pool = cpu::ThreadPool::global();
  const std::int64_t chunks = 64;
  const double tp = seconds(
      [&] {
        pool.parallel_for(chunks, 1, [&](std::int64_t b, std::int64_t e, unsigned) {
          const std::size_t per = bytes / chunks;
          std::memcpy(dst.data() + b * per, src.data() + b * per, (e - b) * per);
        });
      },
      5);
  const double memcpy_1 = 2.0 * bytes / t1 / 1e9, memcpy_p = 2.0 * bytes / tp / 1e9;
  std::printf(
      "\nmemcpy of 256 MiB (read + write): %.1f GB/s on 1 thread, %.1f GB/s on %u threads\n",
      memcpy_1, memcpy_p, pool.size());
  const double memcpy_bw = std::max(memcpy_1, memcpy_p);

  // --- mHC throughput ---------------------------------------------------------------------------
  std::printf("\nmHC ops at T = %lld, H = %lld, n = %d (CPU backend vs C++ reference)\n\n",
              static_cast<long long>(T), static_cast<long long>(H), n);
  std::printf("| op       | CPU backend ms | GB/s  | %% of memcpy | reference ms | speedup |\n");
  std::printf("|----------|----------------|-------|-------------|--------------|---------|\n");
  {
    const auto in = mhc::inputs::make_post_inputs(c, T, 1);
    std::vector<bf16> out(static_cast<std::size_t>(T * n * H));
    // The public host API: the op's plan picks the kernels and tiles for the CPU target.
    const mhc::PostArgs args{.y = host(in.y.data(), DType::bf16, {T, H}),
                             .residual = host(in.residual.data(), DType::bf16, {T, n, H}),
                             .post_mix = host(in.post_mix.data(), DType::f32, {T, n}),
                             .comb_mix = host(in.comb_mix.data(), DType::f32, {T, n, n}),
                             .out = host(out.data(), DType::bf16, {T, n, H})};
    const double t = seconds([&] { mhc::mhc_post(c, args, nullptr); }, 10);
    const double traffic = double(T) * (n * n * 4 + n * H * 2 + n * 4 + H * 2 + n * H * 2);
    const double tr =
        seconds([&] { mhc::ref::mhc_post(c, T, in.y, in.residual, in.post_mix, in.comb_mix); }, 2);
    std::printf("| mhc_post | %14.3f | %5.1f | %10.1f%% | %12.3f | %6.1fx |\n", t * 1e3,
                traffic / t / 1e9, 100 * traffic / t / 1e9 / memcpy_bw, tr * 1e3, tr / t);
  }
  {
    const auto in = mhc::inputs::make_pre_inputs(c, T, 2);
    const int S = mhc::pre_num_splits(c, T, -1);
    std::vector<float> post(T * n), comb(T * n * n);
    std::vector<bf16> layer(T * H);
    std::vector<std::uint8_t> workspace(mhc::pre_workspace_bytes(c, T, -1));
    const mhc::PreArgs args{.residual = host(in.residual.data(), DType::bf16, {T, n, H}),
                            .fn = host(in.fn.data(), DType::f32, {M3, c.k()}),
                            .scale = host(in.scale.data(), DType::f32, {3}),
                            .base = host(in.base.data(), DType::f32, {M3}),
                            .post_mix = host(post.data(), DType::f32, {T, n}),
                            .comb_mix = host(comb.data(), DType::f32, {T, n, n}),
                            .layer_input = host(layer.data(), DType::bf16, {T, H}),
                            .workspace = host(workspace.data(), DType::u8,
                                              {static_cast<std::int64_t>(workspace.size())})};
    const double t = seconds([&] { mhc::mhc_pre(c, args, nullptr); }, 5);
    // Residual read twice (stage A, collapse), fn once, layer input written; mixes are tiny.
    const double traffic = double(T) * (2 * n * H * 2 + H * 2) + double(M3) * n * H * 4;
    const double tr =
        seconds([&] { mhc::ref::mhc_pre(c, T, in.residual, in.fn, in.scale, in.base, {}, S); }, 1);
    std::printf("| mhc_pre  | %14.3f | %5.1f | %10.1f%% | %12.3f | %6.1fx |\n", t * 1e3,
                traffic / t / 1e9, 100 * traffic / t / 1e9 / memcpy_bw, tr * 1e3, tr / t);
  }
  return 0;
}
