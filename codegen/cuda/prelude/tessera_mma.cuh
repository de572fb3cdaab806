// Tessera device prelude, tensor-core part: mma / ldmatrix helpers used by the gemm lowering.
// Included by tessera_prelude.cuh; placeholder until the gemm lowering lands.
#pragma once
