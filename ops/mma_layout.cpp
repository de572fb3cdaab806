#include "ops/mma_layout.h"

#include "base/error.h"
#include "ir/util.h"

#include <fmt/format.h>

namespace tessera::ops {

const char* mma_path_cuda(MmaPath p) {
  switch (p) {
  case MmaPath::bf16:
    return "tessera::mma::Path::bf16";
  case MmaPath::f16:
    return "tessera::mma::Path::f16";
  case MmaPath::tf32:
    return "tessera::mma::Path::tf32";
  case MmaPath::fp32:
    return "tessera::mma::Path::fp32";
  case MmaPath::tf32x3:
    return "tessera::mma::Path::tf32x3";
  }
  return "?";
}

MmaShape mma_shape(MmaPath p) {
  if (p == MmaPath::bf16 || p == MmaPath::f16)
    return {16, 8, 16};
  return {16, 8, 8};
}

Slot MmaTiling::locate(std::int64_t i, std::int64_t j) const {
  if (i < 0 || i >= m || j < 0 || j >= n)
    throw InternalError(fmt::format("mma accumulator index ({}, {}) outside {}x{}", i, j, m, n));
  const std::int64_t wm = warp_m(), wn = warp_n();
  const std::int64_t warp = (i / wm) * warps_n + j / wn;
  const std::int64_t lane = (i % 8) * 4 + (j % 8) / 2;
  const std::int64_t reg =
      ((i % wm) / 16 * tiles_n() + (j % wn) / 8) * 4 + (i % 16) / 8 * 2 + j % 2;
  return Slot{static_cast<int>(warp * 32 + lane), reg};
}

std::optional<std::vector<std::int64_t>> MmaTiling::element(int thread, std::int64_t reg) const {
  const int warp = thread / 32, lane = thread % 32;
  if (thread < 0 || warp >= warps_m * warps_n || reg < 0 || reg >= registers())
    return std::nullopt;
  const std::int64_t tile = reg / 4, e = reg % 4;
  const std::int64_t i =
      (warp / warps_n) * warp_m() + (tile / tiles_n()) * 16 + lane / 4 + (e / 2) * 8;
  const std::int64_t j =
      (warp % warps_n) * warp_n() + (tile % tiles_n()) * 8 + (lane % 4) * 2 + e % 2;
  return std::vector<std::int64_t>{i, j};
}

MmaTiling choose_mma_tiling(std::int64_t m, std::int64_t n, int threads) {
  if (m <= 0 || n <= 0 || m % 16 != 0 || n % 8 != 0 || threads <= 0 || threads % 32 != 0)
    throw InternalError(
        fmt::format("choose_mma_tiling: bad tile {}x{} on {} threads (need m%16, n%8, threads%32)",
                    m, n, threads));
  const int warps = threads / 32;
  MmaTiling best{m, n, threads, 1, 1};
  std::int64_t best_cost = m + n;
  for (int wm = 1; wm <= warps; ++wm) {
    if ((m / 16) % wm != 0)
      continue;
    for (int wn = 1; wm * wn <= warps; ++wn) {
      if ((n / 8) % wn != 0)
        continue;
      const std::int64_t cost = m / wm + n / wn;
      const int used = wm * wn, best_used = best.warps_m * best.warps_n;
      const bool better = used > best_used || (used == best_used && cost < best_cost) ||
                          (used == best_used && cost == best_cost && wm > best.warps_m);
      if (better) {
        best.warps_m = wm;
        best.warps_n = wn;
        best_cost = cost;
      }
    }
  }
  return best;
}

std::string MmaAccumulatorMap::name() const {
  return fmt::format("mma.m16n8 acc {}x{} warps {}x{} over {} threads", tiling_.m, tiling_.n,
                     tiling_.warps_m, tiling_.warps_n, tiling_.threads);
}

std::optional<std::vector<std::int64_t>> MmaAccumulatorMap::element(int thread,
                                                                    std::int64_t reg) const {
  return tiling_.element(thread, reg);
}

std::vector<ir::Expr> MmaAccumulatorMap::index(const ir::Expr& tid, const ir::Expr& reg) const {
  using namespace ir;
  // The inverse of locate(): reg / 4 is the (m16, n8) tile of the warp's tiles, reg % 4 the
  // element of the thread's fragment of it.
  const Expr warp = div(tid, i32(32)), lane = mod(tid, i32(32));
  const Expr tile = div(reg, i32(4)), e = mod(reg, i32(4));
  const Expr tn = i32(tiling_.tiles_n());
  // The thread's part first, the register's constant part last (it folds into an immediate).
  const Expr i =
      add(add(mul(div(warp, i32(tiling_.warps_n)), i32(tiling_.warp_m())), div(lane, i32(4))),
          add(mul(div(tile, tn), i32(16)), mul(div(e, i32(2)), i32(8))));
  const Expr j = add(add(mul(mod(warp, i32(tiling_.warps_n)), i32(tiling_.warp_n())),
                         mul(mod(lane, i32(4)), i32(2))),
                     add(mul(mod(tile, tn), i32(8)), mod(e, i32(2))));
  return {i, j};
}

Layout mma_accumulator_layout(const MmaTiling& tiling, int begin) {
  // Built field by field (same as Layout::mapped) so this file needs only layout.h's types.
  Layout l;
  l.kind = LayoutKind::mapped;
  l.shape = {tiling.m, tiling.n};
  l.threads = tiling.threads;
  l.begin = begin;
  l.map = std::make_shared<MmaAccumulatorMap>(tiling);
  return l;
}

} // namespace tessera::ops
