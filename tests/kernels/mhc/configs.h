// The (op, config, T) cases of the mHC GPU tests (ops_gpu_test.cpp runs gpu_cases()) and of
// bench/mhc_bench.cpp (bench_cases() mirrors its grid). The NVRTC compile test compiles every
// kernel of their plans for sm_90a and sm_80 without a GPU; those plans are made for
// kReferenceSmCount SMs (H100 SXM / H200), the machines the GPU runs use.
#pragma once

#include "kernels/mhc/config.h"
#include "kernels/mhc/op_spec.h"
#include "kernels/mhc/plan.h"

#include <cstdint>
#include <cstdlib>
#include <vector>

namespace tessera::mhc::testing {

struct OpCase {
  Op op;
  Config config;
  std::int64_t tokens;
};

/** TESSERA_MHC_POST_STAGE_A=1 for a scope: plans fuse mhc_fused_post_pre's post into the
 * token-tile stage A (kernels::post_stage_a, off by default: measured slower). */
struct PostStageAOn {
  PostStageAOn() { setenv("TESSERA_MHC_POST_STAGE_A", "1", 1); }
  ~PostStageAOn() { unsetenv("TESSERA_MHC_POST_STAGE_A"); }
  PostStageAOn(const PostStageAOn&) = delete;
  PostStageAOn& operator=(const PostStageAOn&) = delete;
};

/** hc_head's one-pass cluster kernel on a GPU plan (opt-in there until measured), while alive. */
struct HeadFusedOn {
  HeadFusedOn() { setenv("TESSERA_MHC_HEAD_FUSED", "1", 1); }
  ~HeadFusedOn() { unsetenv("TESSERA_MHC_HEAD_FUSED"); }
  HeadFusedOn(const HeadFusedOn&) = delete;
  HeadFusedOn& operator=(const HeadFusedOn&) = delete;
};

/** vLLM's unit-test configuration (post multiplier 1.0) unless `post_mult` says otherwise. */
inline Config make_config(std::int64_t H, float post_mult = 1.0f) {
  Config c;
  c.hidden = H;
  c.post_mult = post_mult;
  return c;
}

/** The plan of a case on a kReferenceSmCount-SM GPU. */
/** The plan for an H100/H200 (cc_major 9), or for an A100-class GPU (8: no clusters). */
inline Plan reference_plan(const OpCase& oc, int cc_major = 9) {
  return make_plan({.op = oc.op,
                    .config = oc.config,
                    .tokens = oc.tokens,
                    .target = gpu_target(kReferenceSmCount, 0, cc_major)});
}

/** The GPU tests' cases, T = 0 included, grouped by op in the order of ops_gpu_test.cpp. */
inline std::vector<OpCase> gpu_cases() {
  std::vector<OpCase> out;
  auto add = [&](Op op, const Config& c, std::int64_t T) { out.push_back({op, c, T}); };
  // mhc_pre: vLLM's grid in both precisions, edge token counts, odd H, fixed splits, the fused
  // norm, other stream counts.
  for (auto p : {GemmPrecision::tf32, GemmPrecision::fp32}) {
    for (std::int64_t H : {4096, 7168}) {
      for (std::int64_t T : {1, 4, 8, 128}) {
        Config c = make_config(H);
        c.gemm_precision = p;
        add(Op::mhc_pre, c, T);
      }
    }
  }
  for (std::int64_t T : {0, 3, 1000, 16384}) {
    add(Op::mhc_pre, make_config(4096), T);
  }
  for (std::int64_t H : {5137, 1000}) {
    add(Op::mhc_pre, make_config(H), 3);
    add(Op::mhc_pre, make_config(H), 130);
  }
  for (int S : {1, 3, 16, 64}) {
    Config c = make_config(7168);
    c.split = SplitPolicy::fixed(S);
    add(Op::mhc_pre, c, 8);
  }
  for (std::int64_t H : {4096, 7168, 5137}) {
    Config c = make_config(H, 2.0f);
    c.norm_eps = 1e-5f;
    for (std::int64_t T : {1, 8, 128}) {
      add(Op::mhc_pre, c, T);
    }
  }
  for (int n : {2, 3, 8}) {
    Config c = make_config(4096);
    c.hc_mult = n;
    add(Op::mhc_pre, c, 5);
  }
  // mhc_pre_broadcast (the fused norm is mandatory).
  for (std::int64_t H : {4096, 7168, 5137}) {
    for (std::int64_t T : {0, 1, 8, 128, 1000}) {
      Config c = make_config(H);
      c.norm_eps = 1e-5f;
      add(Op::mhc_pre_broadcast, c, T);
    }
  }
  // Stage A alone: the per-token kernel (T <= 16) and larger T, fixed splits.
  for (auto p : {GemmPrecision::tf32, GemmPrecision::fp32}) {
    for (int S : {1, 4, 16, 28}) {
      Config c = make_config(7168);
      c.gemm_precision = p;
      c.split = SplitPolicy::fixed(S);
      add(Op::stage_a, c, 13);
      add(Op::stage_a, c, 200);
    }
    Config c = make_config(5137);
    c.gemm_precision = p;
    c.split = SplitPolicy::fixed(5);
    add(Op::stage_a, c, 3);
    add(Op::stage_a, c, 77);
  }
  // mhc_post.
  for (std::int64_t H : {4096, 7168}) {
    for (std::int64_t T : {1, 4, 8, 128}) {
      add(Op::mhc_post, make_config(H), T);
    }
  }
  for (std::int64_t T : {0, 3, 1000, 16384}) {
    add(Op::mhc_post, make_config(4096), T);
  }
  add(Op::mhc_post, make_config(5137), 7);
  add(Op::mhc_post, make_config(1000), 33);
  for (int n : {2, 8}) {
    Config c = make_config(4096);
    c.hc_mult = n;
    add(Op::mhc_post, c, 5);
  }
  // mhc_fused_post_pre: both regimes (T <= kFusedSmallT is the single-pass kernel).
  for (std::int64_t H : {4096, 7168}) {
    for (std::int64_t T : {1, 4, 8, 128}) {
      add(Op::mhc_fused_post_pre, make_config(H), T);
    }
  }
  for (std::int64_t T : {0, 3, 16, 17, 1000}) {
    add(Op::mhc_fused_post_pre, make_config(4096), T);
  }
  add(Op::mhc_fused_post_pre, make_config(5137), 5);
  add(Op::mhc_fused_post_pre, make_config(5137), 40);
  for (std::int64_t T : {2, 128}) {
    Config c = make_config(7168);
    c.norm_eps = 1e-5f;
    add(Op::mhc_fused_post_pre, c, T);
    c.gemm_precision = GemmPrecision::fp32;
    add(Op::mhc_fused_post_pre, c, T);
  }
  // hc_head.
  for (std::int64_t H : {4096, 7168}) {
    for (std::int64_t T : {1, 4, 8, 128}) {
      add(Op::hc_head, make_config(H), T);
    }
  }
  for (std::int64_t T : {0, 3, 1000}) {
    add(Op::hc_head, make_config(4096), T);
  }
  add(Op::hc_head, make_config(5137), 9);
  // Issue 9's odd shapes for every op: token counts one past each kernel switch (T 17: the
  // fused op's two-pass form; 129: fp32 / hc_head's token tile; 1025: 9 tiles of 128) and hidden
  // sizes whose K is not a multiple of the 64-wide K blocks (K 4000, 12000).
  for (std::int64_t H : {1000, 3000}) {
    for (std::int64_t T : {3, 17, 129, 1025}) {
      for (Op op : {Op::mhc_pre, Op::mhc_post, Op::mhc_fused_post_pre, Op::hc_head}) {
        add(op, make_config(H, 2.0f), T);
      }
    }
  }
  // Standalone Sinkhorn.
  for (std::int64_t T : {0, 1, 1000}) {
    add(Op::sinkhorn, make_config(4096), T);
  }
  {
    Config c = make_config(4096);
    c.hc_mult = 8;
    c.sinkhorn_iters = 1;
    add(Op::sinkhorn, c, 77);
  }
  return out;
}

/** bench/mhc_bench.cpp's grid: DeepSeek-V4 defaults (post multiplier 2.0). */
inline std::vector<OpCase> bench_cases() {
  std::vector<OpCase> out;
  for (std::int64_t H : {4096, 7168}) {
    for (std::int64_t T : {1, 16, 128, 1024, 4096, 16384}) {
      for (Op op : {Op::mhc_pre, Op::mhc_post, Op::mhc_fused_post_pre, Op::hc_head, Op::sinkhorn}) {
        out.push_back({op, make_config(H, 2.0f), T});
      }
    }
  }
  return out;
}

/** Every case of the GPU tests and the benchmark with T > 0 (T = 0 launches nothing). */
inline std::vector<OpCase> all_cases() {
  std::vector<OpCase> out;
  for (const std::vector<OpCase>& cases : {gpu_cases(), bench_cases()}) {
    for (const OpCase& oc : cases) {
      if (oc.tokens > 0) {
        out.push_back(oc);
      }
    }
  }
  return out;
}

} // namespace tessera::mhc::testing
