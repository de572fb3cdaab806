// examples_bench: the example kernels' two figures of merit.
//
//   examples_bench --compile-only     time from DSL build to cubin (sm_90a), cold (cache off),
//                                     per example kernel; runs anywhere (target: <= 150 ms on
//                                     the 2-core dev machine for the non-GEMM examples)
//   examples_bench [--json PATH]      also, on a GPU: RMSNorm (bf16, fp32 math) and row softmax
//                                     (f32) over inputs several times the L2, median of CUDA-event
//                                     timings, as GB/s and as a fraction of the device-to-device
//                                     copy bandwidth measured in the same run (target >= 0.85)
#include "bench/bench_util.h"
#include "examples/gemm_kernel.h"
#include "examples/kernels.h"
#include "jit/compiled_kernel.h"
#include "runtime/device.h"
#include "runtime/driver.h"
#include "runtime/memory.h"

#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

using namespace tessera;

namespace {

struct CompileRow {
  std::string kernel;
  double trace_ms, passes_ms, emit_ms, nvrtc_ms, total_ms;
};

CompileRow time_compile(const std::string& name, const std::function<ir::Kernel()>& build) {
  std::vector<double> trace, total, passes, emit, nvrtc;
  for (int i = 0; i < 5; ++i) {
    const double t0 = bench::now_us();
    const ir::Kernel k = build();
    const double t1 = bench::now_us();
    const CompiledKernel ck = Runtime::compile_for(k, "sm_90a");
    const double t2 = bench::now_us();
    trace.push_back((t1 - t0) / 1e3);
    total.push_back((t2 - t0) / 1e3);
    passes.push_back(ck.timings().passes_ms);
    emit.push_back(ck.timings().emit_ms);
    nvrtc.push_back(ck.timings().nvrtc_ms);
  }
  return {name,
          bench::median(trace),
          bench::median(passes),
          bench::median(emit),
          bench::median(nvrtc),
          bench::median(total)};
}

struct GpuRow {
  std::string kernel;
  std::int64_t rows, cols;
  double us, bytes, gbps, frac;
};

GpuRow time_launch(const std::string& name, std::int64_t rows, std::int64_t cols, double bytes,
                   double copy_bw, const std::function<void()>& launch) {
  for (int i = 0; i < 5; ++i) {
    launch();
  }
  Event start, end;
  std::vector<double> us;
  for (int i = 0; i < 50; ++i) {
    start.record(nullptr);
    launch();
    end.record(nullptr);
    end.synchronize();
    us.push_back(Event::elapsed_ms(start, end) * 1e3);
  }
  const double t = bench::median(us);
  const double gbps = bytes / (t * 1e-6) / 1e9;
  return {name, rows, cols, t, bytes, gbps, gbps * 1e9 / copy_bw};
}

} // namespace

int main(int argc, char** argv) {
  std::string json_path;
  bool compile_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json" && i + 1 < argc) {
      json_path = argv[++i];
    } else if (a == "--compile-only") {
      compile_only = true;
    } else {
      std::cerr << "usage: examples_bench [--compile-only] [--json PATH]\n";
      return 2;
    }
  }
  // Cold compiles: no memory or disk cache hits.
  setenv("TESSERA_DISABLE_CACHE", "1", 1);
  nlohmann::json out;
  try {
    const std::vector<CompileRow> compiles = {
        time_compile("vector_add", [] { return examples::vector_add(); }),
        time_compile("rmsnorm", [] { return examples::rmsnorm(4096); }),
        time_compile("softmax", [] { return examples::softmax(1024); }),
        time_compile("tutorial", [] { return examples::gated_residual(2048); }),
        time_compile("gemm", [] { return examples::gemm_kernel(examples::GemmConfig{}); }),
    };
    fmt::print("DSL build -> cubin (sm_90a), cold, median of 5\n");
    fmt::print("{:<12} {:>9} {:>9} {:>9} {:>9} {:>9}\n", "kernel", "trace ms", "passes", "emit",
               "nvrtc", "total ms");
    for (const CompileRow& r : compiles) {
      fmt::print("{:<12} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.1f} {:>9.1f}\n", r.kernel, r.trace_ms,
                 r.passes_ms, r.emit_ms, r.nvrtc_ms, r.total_ms);
      out["compile"].push_back({{"kernel", r.kernel},
                                {"trace_ms", r.trace_ms},
                                {"passes_ms", r.passes_ms},
                                {"emit_ms", r.emit_ms},
                                {"nvrtc_ms", r.nvrtc_ms},
                                {"total_ms", r.total_ms}});
    }
    if (compile_only) {
      return 0;
    }
    const DeviceInfo& info = device_info(0);
    const double bw = bench::copy_bandwidth();
    fmt::print("\ndevice: {}; copy bandwidth {:.0f} GB/s (read+write)\n", info.name, bw / 1e9);
    out["device"] = info.name;
    out["copy_bw"] = bw;
    std::vector<GpuRow> rows;
    for (const int hidden : {4096, 7168}) {
      const std::int64_t T = 65536; // 512-896 MiB each way: far beyond the L2
      // Threads such that the row splits into whole 16-byte vectors per thread: 7168 over 256
      // threads leaves the last vector slot of every thread half empty.
      const int threads = hidden % 2048 == 0 ? 256 : 128;
      const CompiledKernel k = Runtime::compile(examples::rmsnorm(hidden, 1e-6f, threads));
      DeviceBuffer x(T * hidden * 2), w(hidden * 2), y(T * hidden * 2);
      x.fill_bytes(0x3f);
      w.fill_bytes(0x3f);
      const TensorView vx = x.view(DType::bf16, {T, hidden}), vw = w.view(DType::bf16, {hidden});
      const TensorView vy = y.view(DType::bf16, {T, hidden});
      rows.push_back(time_launch("rmsnorm bf16", T, hidden, 2.0 * T * hidden * 2, bw,
                                 [&] { k.launch(nullptr, vx, vw, vy); }));
    }
    for (const int cols : {1024, 4096}) {
      const std::int64_t R = (std::int64_t{1} << 28) / cols; // 1 GiB of f32 in, 1 GiB out
      const CompiledKernel k = Runtime::compile(examples::softmax(cols));
      DeviceBuffer x(R * cols * 4), y(R * cols * 4);
      x.fill_bytes(0x3e);
      const TensorView vx = x.view(DType::f32, {R, cols}), vy = y.view(DType::f32, {R, cols});
      rows.push_back(time_launch("softmax f32", R, cols, 2.0 * R * cols * 4, bw,
                                 [&] { k.launch(nullptr, vx, vy); }));
    }
    fmt::print("{:<14} {:>8} {:>6} {:>10} {:>9} {:>6}\n", "kernel", "rows", "cols", "median us",
               "GB/s", "frac");
    for (const GpuRow& r : rows) {
      fmt::print("{:<14} {:>8} {:>6} {:>10.1f} {:>9.0f} {:>6.2f}\n", r.kernel, r.rows, r.cols, r.us,
                 r.gbps, r.frac);
      out["rows"].push_back({{"kernel", r.kernel},
                             {"rows", r.rows},
                             {"cols", r.cols},
                             {"us", r.us},
                             {"bytes", r.bytes},
                             {"gbps", r.gbps},
                             {"frac", r.frac}});
    }
  } catch (const std::exception& e) {
    std::cerr << "examples_bench: " << e.what() << "\n";
    return 1;
  }
  if (!json_path.empty()) {
    std::ofstream(json_path) << out.dump(1) << "\n";
  }
  return 0;
}
