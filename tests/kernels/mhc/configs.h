// The op configurations the mHC GPU tests and bench/mhc_bench.cpp launch, for the NVRTC
// compile test (CI compiles every one for sm_90a and sm_80 without a GPU). Automatic split
// counts are resolved for 132 SMs (H100 SXM / H200), the machines the GPU runs use.
#pragma once

#include "kernels/mhc/config.h"
#include "kernels/mhc/ops.h"
#include "kernels/mhc/registry.h"

#include <string>
#include <vector>

namespace tessera::mhc::testing {

inline constexpr int kGpuSmCount = 132;

struct OpCase {
  std::string op;
  Config config;
  std::int64_t tokens;
  int splits;
};

inline int case_splits(const std::string& op, const Config& c, std::int64_t T) {
  if (op == "mhc_pre_broadcast") {
    return num_splits_for(c, T, c.hidden, kGpuSmCount);
  }
  if (op == "mhc_fused_post_pre" && T <= kFusedSmallT) {
    return fused_small_splits(c, T);
  }
  return num_splits_for(c, T, c.k(), kGpuSmCount);
}

inline Config make_config(std::int64_t H, float post_mult = 1.0f) {
  Config c;
  c.hidden = H;
  c.post_mult = post_mult;
  return c;
}

/** Every (op, config, T) of the GPU tests and the benchmark, T > 0. */
inline std::vector<OpCase> all_cases() {
  std::vector<OpCase> out;
  auto add = [&](const std::string& op, const Config& c, std::int64_t T) {
    out.push_back({op, c, T, case_splits(op, c, T)});
  };
  // GPU tests (tests/kernels/mhc/ops_gpu_test.cpp).
  for (auto p : {GemmPrecision::tf32, GemmPrecision::fp32}) {
    for (std::int64_t H : {4096, 7168}) {
      for (std::int64_t T : {1, 4, 8, 128}) {
        Config c = make_config(H);
        c.gemm_precision = p;
        add("mhc_pre", c, T);
      }
    }
  }
  for (std::int64_t T : {3, 1000, 16384}) {
    add("mhc_pre", make_config(4096), T);
  }
  for (std::int64_t H : {5137, 1000}) {
    add("mhc_pre", make_config(H), 3);
    add("mhc_pre", make_config(H), 130);
  }
  for (int S : {1, 3, 16, 64}) {
    Config c = make_config(7168);
    c.split = SplitPolicy::fixed(S);
    add("mhc_pre", c, 8);
  }
  for (std::int64_t H : {4096, 7168, 5137}) {
    Config c = make_config(H, 2.0f);
    c.norm_eps = 1e-5f;
    for (std::int64_t T : {1, 8, 128}) {
      add("mhc_pre", c, T);
    }
    Config b = make_config(H);
    b.norm_eps = 1e-5f;
    for (std::int64_t T : {1, 8, 128, 1000}) {
      add("mhc_pre_broadcast", b, T);
    }
  }
  for (int n : {2, 3, 8}) {
    Config c = make_config(4096);
    c.hc_mult = n;
    add("mhc_pre", c, 5);
  }
  for (auto p : {GemmPrecision::tf32, GemmPrecision::fp32}) {
    for (int S : {1, 4, 16, 28}) {
      Config c = make_config(7168);
      c.gemm_precision = p;
      c.split = SplitPolicy::fixed(S);
      add("stage_a", c, 13);
      add("stage_a", c, 200);
    }
    Config c = make_config(5137);
    c.gemm_precision = p;
    c.split = SplitPolicy::fixed(5);
    add("stage_a", c, 3);
    add("stage_a", c, 77);
  }
  for (std::int64_t H : {4096, 7168}) {
    for (std::int64_t T : {1, 4, 8, 128}) {
      add("mhc_post", make_config(H), T);
      add("mhc_fused_post_pre", make_config(H), T);
      add("hc_head", make_config(H), T);
    }
  }
  for (std::int64_t T : {3, 16, 17, 1000, 16384}) {
    add("mhc_post", make_config(4096), T);
    add("mhc_fused_post_pre", make_config(4096), T);
    add("hc_head", make_config(4096), T);
  }
  add("mhc_post", make_config(5137), 7);
  add("mhc_post", make_config(1000), 33);
  add("mhc_fused_post_pre", make_config(5137), 5);
  add("mhc_fused_post_pre", make_config(5137), 40);
  add("hc_head", make_config(5137), 9);
  for (int n : {2, 8}) {
    Config c = make_config(4096);
    c.hc_mult = n;
    add("mhc_post", c, 5);
  }
  for (std::int64_t T : {2, 128}) {
    Config c = make_config(7168);
    c.norm_eps = 1e-5f;
    add("mhc_fused_post_pre", c, T);
  }
  add("sinkhorn", make_config(4096), 1);
  {
    Config c = make_config(4096);
    c.hc_mult = 8;
    c.sinkhorn_iters = 1;
    add("sinkhorn", c, 77);
  }
  // Benchmark (bench/mhc_bench.cpp): DeepSeek-V4 defaults.
  for (std::int64_t H : {4096, 7168}) {
    for (std::int64_t T : {1, 16, 128, 1024, 4096, 16384}) {
      for (const char* op : {"mhc_pre", "mhc_post", "mhc_fused_post_pre", "hc_head", "sinkhorn"}) {
        add(op, make_config(H, 2.0f), T);
      }
    }
  }
  return out;
}

} // namespace tessera::mhc::testing
