// mhc_host_bench: the host-side cost an mHC op call pays before its launches, without a GPU —
// making the op's plan, finding each kernel's traced IR, and finding each compiled kernel in
// Runtime::compile's memo (the kernels are compiled for sm_90a once, outside the timing). For
// comparison, the per-launch key the removed kernels/mhc/launch.cpp map built: describe() of the
// parameters, formatted into a string and looked up in a std::map.
//
//   mhc_host_bench [H]      (default H = 7168; T = 1 and T = 4096, 132 SMs)
#include "bench/bench_util.h"
#include "jit/compiled_kernel.h"
#include "kernels/mhc/plan.h"

#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <map>
#include <memory>
#include <string>

namespace mhc = tessera::mhc;
using tessera::bench::median;
using tessera::bench::now_us;

namespace {

/** Median nanoseconds per call of `f` over 21 batches of `batch` calls. */
template <class F> double ns_per_call(int batch, F&& f) {
  std::vector<double> samples;
  for (int r = 0; r < 21; ++r) {
    const double t0 = now_us();
    for (int i = 0; i < batch; ++i) {
      f();
    }
    samples.push_back((now_us() - t0) * 1e3 / batch);
  }
  return median(samples);
}

} // namespace

int main(int argc, char** argv) {
  mhc::Config c;
  c.hidden = argc > 1 ? std::atoll(argv[1]) : 7168;
  tessera::JitOptions options;
  options.target = tessera::Target::cuda;
  options.arch = "sm_90a";
  std::printf("%-20s %6s %7s %10s %10s %10s %10s %12s\n", "op", "H", "T", "plan_ns", "trace_ns",
              "compile_ns", "total_ns", "old_key_ns");
  for (mhc::Op op : {mhc::Op::mhc_pre, mhc::Op::mhc_post, mhc::Op::mhc_fused_post_pre,
                     mhc::Op::hc_head, mhc::Op::sinkhorn}) {
    for (std::int64_t T : {1, 4096}) {
      const mhc::PlanRequest request{
          .op = op, .config = c, .tokens = T, .target = mhc::gpu_target()};
      const mhc::Plan plan = mhc::make_plan(request);
      for (const mhc::KernelLaunch& k : plan.launches) {
        tessera::Runtime::compile(k.kernel(), options); // compile (or load) once
      }
      const double plan_ns = ns_per_call(2000, [&] { mhc::make_plan(request); });
      const double trace_ns = ns_per_call(2000, [&] {
        for (const mhc::KernelLaunch& k : plan.launches) {
          static_cast<void>(k.kernel());
        }
      });
      const double compile_ns = ns_per_call(2000, [&] {
        for (const mhc::KernelLaunch& k : plan.launches) {
          tessera::Runtime::compile(k.kernel(), options);
        }
      });
      // The removed per-launch lookup: "<name> " + describe(params) into a string-keyed map.
      std::map<std::pair<int, std::string>, std::shared_ptr<int>> old_map;
      for (const mhc::KernelLaunch& k : plan.launches) {
        old_map[{0, mhc::describe(k.params)}] = std::make_shared<int>(0);
      }
      const double old_ns = ns_per_call(2000, [&] {
        for (const mhc::KernelLaunch& k : plan.launches) {
          if (old_map.find({0, mhc::describe(k.params)}) == old_map.end()) {
            std::abort();
          }
        }
      });
      std::printf("%-20s %6lld %7lld %10.0f %10.0f %10.0f %10.0f %12.0f\n", mhc::op_name(op),
                  static_cast<long long>(c.hidden), static_cast<long long>(T), plan_ns, trace_ns,
                  compile_ns, plan_ns + trace_ns + compile_ns, old_ns);
    }
  }
  return 0;
}
