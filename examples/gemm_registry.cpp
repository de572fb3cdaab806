// Registry entries of the tensor-core examples (examples/gemm_kernel.h,
// examples/prenorm_gemm_kernel.h): `tessera emit gemm --param n=4096 --param k=4096`.
#include "examples/gemm_kernel.h"
#include "examples/kernels.h"
#include "examples/prenorm_gemm_kernel.h"

namespace tessera::examples {

void register_gemm_kernels(KernelRegistry& r) {
  using P = KernelParam;
  r.add({"gemm",
         "bf16 C[M, N] = alpha * A[M, K] . B[K, N], fp32 accumulate on tensor cores, pipelined K",
         {{"block_m", P::Type::integer, 128, "rows of C per block"},
          {"block_n", P::Type::integer, 128, "columns of C per block"},
          {"block_k", P::Type::integer, 32, "K depth of one shared tile"},
          {"threads", P::Type::integer, 128, "threads per block"},
          {"stages", P::Type::integer, 3, "cp.async pipeline stages (1: not pipelined)"},
          {"n", P::Type::integer, 0, "compile-time N (0: dynamic)"},
          {"k", P::Type::integer, 0, "compile-time K (0: dynamic)"},
          {"alpha", P::Type::real, 1.0, "output scale"}},
         [](const KernelParams& p) {
           GemmConfig c;
           c.block_m = p.integer("block_m");
           c.block_n = p.integer("block_n");
           c.block_k = p.integer("block_k");
           c.threads = p.integer("threads");
           c.stages = p.integer("stages");
           c.n = p.integer("n");
           c.k = p.integer("k");
           c.alpha = static_cast<float>(p.real("alpha"));
           return gemm_kernel(c);
         }});
  r.add({"prenorm_gemm",
         "mHC stage-A block: y[T, 24] = x . fn^T (TF32 mma, trans_b) and sumsq[T] = sum x^2",
         {{"hidden", P::Type::integer, 4096, "K (row length of x and fn)"},
          {"block_t", P::Type::integer, 32, "tokens per block"},
          {"block_k", P::Type::integer, 64, "K depth of one tile"},
          {"threads", P::Type::integer, 128, "threads per block"}},
         [](const KernelParams& p) {
           PrenormGemmConfig c;
           c.hidden = p.integer("hidden");
           c.block_t = p.integer("block_t");
           c.block_k = p.integer("block_k");
           c.threads = p.integer("threads");
           return prenorm_gemm_kernel(c);
         }});
}

} // namespace tessera::examples
