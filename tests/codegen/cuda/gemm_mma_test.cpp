// The tensor-core prelude (codegen/cuda/prelude/tessera_mma.cuh) compiled through NVRTC for
// sm_80 and sm_90a with every helper instantiated; no GPU needed. Kernels must not spill.
#include "runtime/compile_cuda.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <string>

#ifndef TESSERA_SOURCE_DIR
#error "TESSERA_SOURCE_DIR must point at the repository root"
#endif

namespace {

// One kernel per (path, transposes, tile): loads tiles with cp.async, runs gemm_ss, writes C
// through acc_coord. Shared strides are padded (+8 elements) as the lowering does.
std::string gemm_kernel(const std::string& name, const std::string& path, const std::string& ta,
                        const std::string& tb, int m, int n, int k, int wm, int wn, bool trans_a,
                        bool trans_b) {
  const int a_rows = trans_a ? k : m, a_cols = trans_a ? m : k;
  const int b_rows = trans_b ? n : k, b_cols = trans_b ? k : n;
  const int lda = a_cols + 8, ldb = b_cols + 8;
  const int regs = (m / wm / 16) * (n / wn / 8) * 4;
  return fmt::format(R"(
extern "C" __global__ void __launch_bounds__({threads}) {name}(const {ta}* A, const {tb}* B,
                                                             float* C) {{
  __shared__ alignas(16) {ta} a_s[{a_rows} * {lda}];
  __shared__ alignas(16) {tb} b_s[{b_rows} * {ldb}];
  constexpr int a_vec = 16 / sizeof({ta}), b_vec = 16 / sizeof({tb});
  for (int v = threadIdx.x; v < {a_rows} * {a_cols} / a_vec; v += blockDim.x) {{
    int r = v * a_vec / {a_cols}, c = v * a_vec % {a_cols};
    tessera::mma::cp_async_cg_16(&a_s[r * {lda} + c], A + r * {a_cols} + c);
  }}
  for (int v = threadIdx.x; v < {b_rows} * {b_cols} / b_vec; v += blockDim.x) {{
    int r = v * b_vec / {b_cols}, c = v * b_vec % {b_cols};
    tessera::mma::cp_async_cg_16_zfill(&b_s[r * {ldb} + c], B + r * {b_cols} + c, 16);
  }}
  tessera::mma::cp_async_commit();
  tessera::mma::cp_async_wait<0>();
  __syncthreads();
  float acc[{regs}];
  for (int r = 0; r < {regs}; ++r) acc[r] = 0.0f;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  tessera::mma::gemm_ss<{path}, {m}, {n}, {k}, {wm}, {wn}, {trans_a}, {trans_b}, {lda}, {ldb}>(
      acc, a_s, b_s, warp, lane);
  if (warp < {wm} * {wn}) {{
    for (int r = 0; r < {regs}; ++r) {{
      int i, j;
      tessera::mma::acc_coord<{m}, {n}, {wm}, {wn}>(warp, lane, r, i, j);
      C[i * {n} + j] = acc[r];
    }}
  }}
}}
)",
                     fmt::arg("threads", wm * wn * 32), fmt::arg("name", name), fmt::arg("ta", ta),
                     fmt::arg("tb", tb), fmt::arg("a_rows", a_rows), fmt::arg("a_cols", a_cols),
                     fmt::arg("b_rows", b_rows), fmt::arg("b_cols", b_cols), fmt::arg("lda", lda),
                     fmt::arg("ldb", ldb), fmt::arg("regs", regs), fmt::arg("path", path),
                     fmt::arg("m", m), fmt::arg("n", n), fmt::arg("k", k), fmt::arg("wm", wm),
                     fmt::arg("wn", wn), fmt::arg("trans_a", trans_a ? "true" : "false"),
                     fmt::arg("trans_b", trans_b ? "true" : "false"));
}

tessera::CompileOptions options(const std::string& arch) {
  tessera::CompileOptions o;
  o.arch = arch;
  o.include_paths = {TESSERA_SOURCE_DIR};
  o.program_name = "gemm_mma_test.cu";
  return o;
}

} // namespace

TEST_CASE("every tensor-core helper compiles through NVRTC without spills", "[gemm][nvrtc]") {
  std::string src = "#include \"codegen/cuda/prelude/tessera_mma.cuh\"\n";
  std::vector<std::string> names;
  struct K {
    const char* path;
    const char* ta;
    const char* tb;
    int m, n, k, wm, wn;
  };
  const K kinds[] = {
      {"tessera::mma::Path::bf16", "__nv_bfloat16", "__nv_bfloat16", 128, 128, 32, 2, 2},
      {"tessera::mma::Path::f16", "__half", "__half", 64, 64, 32, 2, 2},
      {"tessera::mma::Path::tf32", "float", "float", 64, 32, 32, 2, 2},
      {"tessera::mma::Path::tf32", "__nv_bfloat16", "float", 32, 32, 64, 2, 2}, // mHC stage A
      {"tessera::mma::Path::tf32", "__nv_bfloat16", "float", 32, 24, 64, 1, 3}, // N = 24
      {"tessera::mma::Path::fp32", "float", "float", 32, 32, 32, 2, 2},
      {"tessera::mma::Path::tf32x3", "float", "float", 64, 32, 32, 2, 2},
      {"tessera::mma::Path::tf32x3", "__nv_bfloat16", "float", 32, 24, 64, 1, 3}, // hc_head fp32
  };
  int id = 0;
  for (const K& k : kinds) {
    for (int ta = 0; ta < 2; ++ta) {
      for (int tb = 0; tb < 2; ++tb) {
        std::string name = fmt::format("gemm_{}", id++);
        src += gemm_kernel(name, k.path, k.ta, k.tb, k.m, k.n, k.k, k.wm, k.wn, ta, tb);
        names.push_back(name);
      }
    }
  }
  // The raw wrappers not reached through gemm_ss.
  src += R"(
extern "C" __global__ void raw_helpers(const float* g, float* out) {
  __shared__ alignas(16) unsigned short s[32 * 8];
  __shared__ alignas(16) float f[64];
  using namespace tessera::mma;
  cp_async_ca_16(&f[0], g);
  cp_async_ca_16_zfill(&f[4], g + 4, 8);
  cp_async_ca_8(&f[8], g + 8);
  cp_async_ca_4(&f[12], g + 12);
  cp_async_commit();
  cp_async_wait_all();
  s[threadIdx.x] = static_cast<unsigned short>(threadIdx.x);
  __syncthreads();
  u32 r1[1], r2[2], r4[4];
  ldmatrix_x1(r1, smem_addr(&s[(threadIdx.x % 8) * 8]));
  ldmatrix_x1_trans(r1, smem_addr(&s[(threadIdx.x % 8) * 8]));
  ldmatrix_x2(r2, smem_addr(&s[(threadIdx.x % 16) * 8]));
  ldmatrix_x4_trans(r4, smem_addr(&s[(threadIdx.x % 32) * 8]));
  float d[4] = {f[0], f[1], f[2], f[3]};
  const u32 a[4] = {r4[0], r4[1], r4[2], r4[3]};
  const u32 b[2] = {r2[0], r1[0]};
  mma_m16n8k16_f16(d, a, b);
  mma_m16n8k16_bf16(d, a, b);
  mma_m16n8k8_tf32(d, a, b);
  u32 packed = pack2(__float2bfloat16(d[0]), __float2bfloat16(d[1]));
  out[threadIdx.x] = d[2] + d[3] + __uint_as_float(f32_to_tf32(d[0])) + float(packed & 1u);
}
)";
  names.push_back("raw_helpers");

  for (const std::string arch : {"sm_80", "sm_90a"}) {
    CAPTURE(arch);
    auto program = tessera::compile_cuda(src, names, options(arch));
    REQUIRE(program->arch() == arch);
    for (const auto& name : names) {
      CAPTURE(name);
      const auto& res = program->resources(name);
      CHECK(res.registers > 0);
      CHECK(res.registers <= 255);
      CHECK(res.local_bytes == 0);
      CHECK(res.spill_store_bytes == 0);
      CHECK(res.spill_load_bytes == 0);
    }
    // The instructions we asked for are really there.
    const std::string& ptx = program->ptx();
    CHECK(ptx.find("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32") != std::string::npos);
    CHECK(ptx.find("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32") != std::string::npos);
    CHECK(ptx.find("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32") != std::string::npos);
    CHECK(ptx.find("cvt.rna.tf32.f32") != std::string::npos);
    CHECK(ptx.find("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16") != std::string::npos);
    CHECK(ptx.find("cp.async.cg.shared.global") != std::string::npos);
    CHECK(ptx.find("cp.async.wait_group 0") != std::string::npos);
  }
}

// ---- The whole CUDA pipeline on DSL gemm kernels: lower, emit, NVRTC, no spills.
#include "codegen/cuda/cuda_printer.h"
#include "codegen/infer_layouts.h"
#include "codegen/lower.h"
#include "examples/gemm_kernel.h"
#include "examples/prenorm_gemm_kernel.h"
#include "ir/printer.h"

namespace {

/** Lowers, emits and compiles `kernel` for sm_80 and sm_90a; no local memory, no spills. */
std::string compile_both(const tessera::ir::Kernel& kernel) {
  const std::string src = tessera::codegen::print_cuda(tessera::codegen::lower(kernel));
  for (const std::string arch : {"sm_80", "sm_90a"}) {
    INFO(arch);
    tessera::CompileOptions o;
    o.arch = arch;
    o.headers = tessera::codegen::prelude_headers();
    auto program = tessera::compile_cuda(src, o);
    const auto& res = program->resources();
    CHECK(res.local_bytes == 0);
    CHECK(res.spill_store_bytes == 0);
  }
  return src;
}

} // namespace

TEST_CASE("DSL gemm kernels lower, emit and compile for sm_80 and sm_90a", "[gemm][nvrtc]") {
  using tessera::examples::GemmConfig;
  GemmConfig fixed;
  fixed.n = fixed.k = 4096;
  GemmConfig fp32{64, 64, 32, 128, 2, tessera::DType::f32, tessera::DType::f32};
  fp32.precision = tessera::ops::GemmPrecision::fp32;
  GemmConfig split = fp32;
  split.precision = tessera::ops::GemmPrecision::tf32x3;
  for (GemmConfig cfg :
       {GemmConfig{}, GemmConfig{128, 128, 32, 128, 1}, GemmConfig{64, 64, 64, 128, 2},
        GemmConfig{128, 128, 32, 256, 3, tessera::DType::f16, tessera::DType::bf16},
        GemmConfig{64, 64, 32, 128, 2, tessera::DType::f32, tessera::DType::f32}, fixed, fp32,
        split}) {
    CAPTURE(cfg.block_m, cfg.block_n, cfg.block_k, cfg.threads, cfg.stages, cfg.n, cfg.k);
    const std::string src = compile_both(tessera::examples::gemm_kernel(cfg));
    CAPTURE(src);
    CHECK(src.find("tessera::mma::gemm_ss<") != std::string::npos);
    // The epilogue runs on the accumulator's registers: an unrolled loop over them, each
    // element's coordinates computed from the thread and the register.
    CHECK(src.find("mapped over") != std::string::npos);
    CHECK(src.find("(mapped(mma.m16n8") != std::string::npos);
    CHECK(src.find("for (int r_ = 0; r_ < ") != std::string::npos);
    CHECK(src.find("acc[r_]") != std::string::npos);
    if (cfg.precision == tessera::ops::GemmPrecision::tf32x3) {
      CHECK(src.find("tessera::mma::gemm_ss<tessera::mma::Path::tf32x3") != std::string::npos);
    }
  }
}

TEST_CASE("the pipelined example issues cp.async groups and waits once per K tile",
          "[gemm][nvrtc][pipeline]") {
  tessera::examples::GemmConfig cfg;
  cfg.n = cfg.k = 4096;
  const std::string src = compile_both(tessera::examples::gemm_kernel(cfg));
  CAPTURE(src);
  CHECK(src.find("tessera::cp_async<16>(") != std::string::npos);
  CHECK(src.find("tessera::cp_async_commit();") != std::string::npos);
  CHECK(src.find("tessera::cp_async_wait<1>();") != std::string::npos); // 3 stages
  // Pipelined copies are not waited for where they are issued.
  CHECK(src.find("tessera::cp_async_wait_all();") == std::string::npos);
}

TEST_CASE("the lowered example IR shows the mma accumulator's mapped layout", "[gemm][layout]") {
  const std::string ir =
      tessera::ir::to_string(tessera::codegen::infer_layouts(tessera::examples::gemm_kernel()));
  CAPTURE(ir);
  CHECK(ir.find("mapped(mma.m16n8 acc 128x128 warps 2x2 over 128 threads)") != std::string::npos);
  CHECK(ir.find("[mapped over 128 threads (mapped(mma.m16n8") != std::string::npos);
}

TEST_CASE("the pre-norm pattern (mHC stage A) compiles for sm_80 and sm_90a", "[gemm][nvrtc]") {
  for (int hidden : {256, 1000, 4096}) {
    tessera::examples::PrenormGemmConfig cfg;
    cfg.hidden = hidden;
    const std::string src = compile_both(tessera::examples::prenorm_gemm_kernel(cfg));
    CAPTURE(src);
    CHECK(src.find("tessera::mma::Path::tf32") != std::string::npos);
    CHECK(src.find("tessera::mma::gemm_ss<tessera::mma::Path::tf32, 32, 32, 64, 2, 2, false, "
                   "true") != std::string::npos);
  }
}
