/** \file
 * The example kernels as DSL factories, shared by the example programs, the registry (so
 * `tessera emit rmsnorm --param hidden=5120` works) and the tests.
 */
#pragma once

#include "ir/ir.h"
#include "jit/kernel_registry.h"

namespace tessera::examples {

/** z = x + y over f32 vectors of dynamic length n; 1024 elements per block. */
ir::Kernel vector_add(int block_elems = 1024, int threads = 256);

/** y[t] = bf16(x[t] * rsqrt(mean(x[t]^2) + eps) * w), fp32 math, one row per block. */
ir::Kernel rmsnorm(int hidden = 4096, float eps = 1e-6f, int threads = 256);

/** Row softmax of an f32 [num_rows, cols] matrix, one row per block. */
ir::Kernel softmax(int cols = 1024, int threads = 128);

/** The docs/dsl.md tutorial: out[t] = bf16(x[t] + scale * sigmoid(gate[t]) * y[t]). */
ir::Kernel gated_residual(int hidden = 2048, int threads = 128);

/** Registers the tensor-core examples ("gemm", "prenorm_gemm"); called by register_kernels. */
void register_gemm_kernels(KernelRegistry& registry);

/** Registers every example kernel in `registry`. */
void register_kernels(KernelRegistry& registry);

} // namespace tessera::examples
