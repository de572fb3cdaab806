/** \file
 * The tensor-core side of `gemm`: how a block tile C[M][N] is cut over warps and mma
 * instructions (MmaTiling, choose_mma_tiling) and where each accumulator element lives
 * (MmaAccumulatorMap, an ir::FragmentMap, so `parallel` loops over C work like over any
 * other fragment). The same closed form is documented and implemented on the device side in
 * codegen/cuda/prelude/tessera_mma.cuh (gemm_ss, acc_coord); the two must agree, which
 * tests/codegen/cuda/mma_layout_test.cpp and the GPU tests check.
 *
 * Closed form, for warp tiles WM = M / warps_m, WN = N / warps_n and NT = WN / 8 n8-tiles per
 * warp; element C[i][j] lives in thread `warp * 32 + lane`, register `reg`:
 *
 *     warp = (i / WM) * warps_n + j / WN
 *     lane = (i % 8) * 4 + (j % 8) / 2
 *     reg  = ((i % WM) / 16 * NT + (j % WN) / 8) * 4 + (i % 16) / 8 * 2 + j % 2
 */
#pragma once

#include "ir/ir.h"
#include "ir/layout.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tessera::ops {

using ir::FragmentMap;
using ir::Layout;
using ir::LayoutKind;
using ir::Slot;

using ir::mma_path_name;
using ir::MmaPath;
/** The prelude's enumerator for a path, "tessera::mma::Path::bf16". */
const char* mma_path_cuda(MmaPath p);

/** The instruction shape: 16 × 8 × 16 for bf16/f16, 16 × 8 × 8 for tf32 and fp32. */
struct MmaShape {
  int m = 16, n = 8, k = 16;
};
MmaShape mma_shape(MmaPath p);

/** How a block tile C[m][n] is spread over warps. warps_m × warps_n ≤ threads / 32 warps take
 *  part; the rest own no accumulator and skip the gemm. */
struct MmaTiling {
  std::int64_t m = 0, n = 0;
  int threads = 0; ///< threads of the block (or thread range) running the gemm
  int warps_m = 1, warps_n = 1;

  std::int64_t warp_m() const { return m / warps_m; }
  std::int64_t warp_n() const { return n / warps_n; }
  /** n8 tiles per warp along N and m16 tiles along M. */
  std::int64_t tiles_n() const { return warp_n() / 8; }
  std::int64_t tiles_m() const { return warp_m() / 16; }
  /** f32 accumulator registers per thread: tiles_m · tiles_n · 4. */
  std::int64_t registers() const { return tiles_m() * tiles_n() * 4; }
  /** Thread (0-based in the range) and register holding C[i][j]. */
  Slot locate(std::int64_t i, std::int64_t j) const;
  /** Element held by register `reg` of `thread`, or nullopt (idle warp, or reg out of range). */
  std::optional<std::vector<std::int64_t>> element(int thread, std::int64_t reg) const;
  bool operator==(const MmaTiling&) const = default;
};

/**
 * Picks the warp arrangement for an m × n accumulator on `threads` threads: among warps_m
 * dividing m / 16 and warps_n dividing n / 8 with warps_m · warps_n ≤ threads / 32, the most warps,
 * then the smallest warp_m + warp_n (least shared-memory operand traffic per mma), then the larger
 * warps_m. Requires m % 16 == 0, n % 8 == 0 and threads a positive multiple of 32 (InternalError
 * otherwise; the gemm lowering checks user shapes first and throws UserError).
 */
MmaTiling choose_mma_tiling(std::int64_t m, std::int64_t n, int threads);

/** The "mma accumulator" fragment layout as a FragmentMap (LayoutKind::mapped). */
class MmaAccumulatorMap final : public FragmentMap {
public:
  explicit MmaAccumulatorMap(MmaTiling tiling) : tiling_(tiling) {}
  std::string name() const override;
  std::int64_t registers() const override { return tiling_.registers(); }
  std::optional<std::vector<std::int64_t>> element(int thread, std::int64_t reg) const override;
  /** {i, j} of register `reg` of thread `tid` (0-based within the gemm's threads). */
  std::vector<ir::Expr> index(const ir::Expr& tid, const ir::Expr& reg) const override;
  const MmaTiling& tiling() const { return tiling_; }

private:
  MmaTiling tiling_;
};

/** The Layout of a gemm accumulator of shape {m, n} run by `threads` threads from `begin`. */
Layout mma_accumulator_layout(const MmaTiling& tiling, int begin = 0);

} // namespace tessera::ops
