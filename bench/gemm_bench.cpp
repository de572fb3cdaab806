// gemm_bench: TFLOP/s of the example bf16 GEMM (examples/gemm_kernel.h: 128×128×32 tiles,
// 3-stage cp.async pipeline, fp32 accumulate, f32 output) at 4096³ and 8192³, timed with CUDA
// events (median of many launches after a warm-up). The card's bf16 peak is not measured here:
// compare with a cuBLAS/PyTorch bf16 matmul on the same card (bench/RESULTS.md).
//
//   gemm_bench [--json results.json] [--quick] [--runs N]
#include "base/float16.h"
#include "bench/bench_util.h"
#include "examples/gemm_kernel.h"
#include "jit/compiled_kernel.h"
#include "runtime/driver.h"
#include "runtime/memory.h"

#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

using namespace tessera;

namespace {

struct Row {
  std::string name;
  std::int64_t m, n, k;
  int stages;
  double median_ms, min_ms, tflops;
  int registers;
  long long smem;
};

Row run(std::int64_t m, std::int64_t n, std::int64_t k, int stages, int runs) {
  examples::GemmConfig cfg;
  cfg.n = n;
  cfg.k = k;
  cfg.stages = stages;
  JitOptions o;
  o.target = Target::cuda;
  const CompiledKernel ck = Runtime::compile(examples::gemm_kernel(cfg), o);
  std::mt19937 gen(1);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<bf16> a(m * k), b(k * n);
  for (bf16& x : a) {
    x = bf16(d(gen));
  }
  for (bf16& x : b) {
    x = bf16(d(gen));
  }
  DeviceBuffer da = DeviceBuffer::from_host(a), db = DeviceBuffer::from_host(b);
  DeviceBuffer dc(m * n * sizeof(float));
  Stream stream;
  const TensorView va = da.view(DType::bf16, {m, k}), vb = db.view(DType::bf16, {k, n});
  const TensorView vc = dc.view(DType::f32, {m, n});
  for (int i = 0; i < 3; ++i) {
    ck.launch(stream.get(), va, vb, vc);
  }
  stream.synchronize();
  std::vector<double> ms;
  Event start, end;
  for (int i = 0; i < runs; ++i) {
    start.record(stream);
    ck.launch(stream.get(), va, vb, vc);
    end.record(stream);
    end.synchronize();
    ms.push_back(Event::elapsed_ms(start, end));
  }
  Row r{fmt::format("tessera bf16 gemm {}-stage", stages),
        m,
        n,
        k,
        stages,
        bench::median(ms),
        bench::min_of(ms),
        0,
        ck.resources().registers,
        static_cast<long long>(ck.shared_bytes())};
  r.tflops = 2.0 * static_cast<double>(m) * n * k / (r.median_ms * 1e-3) / 1e12;
  return r;
}

} // namespace

int main(int argc, char** argv) {
  std::string json_path;
  bool quick = false;
  int runs = 50;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json" && i + 1 < argc) {
      json_path = argv[++i];
    } else if (a == "--quick") {
      quick = true;
    } else if (a == "--runs" && i + 1 < argc) {
      runs = std::stoi(argv[++i]);
    } else {
      std::cerr << "usage: gemm_bench [--json PATH] [--quick] [--runs N]\n";
      return 2;
    }
  }
  if (device_count() == 0) {
    std::cerr << "gemm_bench needs a CUDA device\n";
    return 1;
  }
  std::vector<Row> rows;
  std::vector<std::int64_t> sizes = {4096, 8192};
  if (quick) {
    sizes = {2048};
    runs = std::min(runs, 10);
  }
  for (std::int64_t s : sizes) {
    for (int stages : {3, 1}) {
      rows.push_back(run(s, s, s, stages, runs));
    }
  }
  fmt::print("{:<28} {:>6} {:>6} {:>6} {:>11} {:>11} {:>9} {:>5} {:>7}\n", "kernel", "M", "N", "K",
             "median ms", "min ms", "TFLOP/s", "regs", "smem");
  for (const Row& r : rows) {
    fmt::print("{:<28} {:>6} {:>6} {:>6} {:>11.4f} {:>11.4f} {:>9.1f} {:>5} {:>7}\n", r.name, r.m,
               r.n, r.k, r.median_ms, r.min_ms, r.tflops, r.registers, r.smem);
  }
  if (!json_path.empty()) {
    nlohmann::json j;
    j["bench"] = "gemm_bench";
    j["runs"] = runs;
    j["rows"] = nlohmann::json::array();
    for (const Row& r : rows) {
      j["rows"].push_back({{"name", r.name},
                           {"m", r.m},
                           {"n", r.n},
                           {"k", r.k},
                           {"stages", r.stages},
                           {"median_ms", r.median_ms},
                           {"min_ms", r.min_ms},
                           {"tflops", r.tflops},
                           {"registers", r.registers},
                           {"shared_bytes", r.smem}});
    }
    std::ofstream(json_path) << j.dump(1) << "\n";
    fmt::print("wrote {}\n", json_path);
  }
  return 0;
}
