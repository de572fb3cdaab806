/** \file
 * A test kernel for cluster barriers, run on both targets: each block of a cluster of
 * kClusterSize writes its row to a workspace, waits at the cluster barrier, then sums the other
 * blocks' rows. Without the barrier a block reads rows not yet written (poison on the GPU,
 * concurrently written ones on the CPU backend).
 */
#pragma once

#include "dsl/builder.h"

#include <vector>

namespace tessera::testing {

inline constexpr int kClusterSize = 4;
inline constexpr int kClusterRow = 128;

/** x, work, y: [clusters, kClusterSize, kClusterRow] f32; y[c][r] = Σ_{q≠r} 2·x[c][q]. */
inline ir::Kernel cluster_exchange_kernel() {
  using namespace tessera::dsl;
  KernelBuilder kb("cluster_exchange");
  Dim C = kb.dim("clusters");
  auto x = kb.input("x", f32, {C, kClusterSize, kClusterRow});
  auto work = kb.output("work", f32, {C, kClusterSize, kClusterRow});
  auto y = kb.output("y", f32, {C, kClusterSize, kClusterRow});
  kb.cluster({kClusterSize});
  kb.launch(grid(C * kClusterSize), threads(kClusterRow), [&](Var b) {
    Expr c = b / kClusterSize;
    Expr r = b % kClusterSize;
    Expr t = thread_idx();
    work[c][r][t] = x[c][r][t] * 2.0f;
    cluster_barrier();
    Expr sum = work[c][(r + 1) % kClusterSize][t];
    for (int q = 2; q < kClusterSize; ++q) {
      sum = sum + work[c][(r + q) % kClusterSize][t];
    }
    y[c][r][t] = sum;
  });
  return kb.build();
}

/** The expected y of cluster_exchange_kernel, in the kernel's summation order. */
inline std::vector<float> cluster_exchange_reference(const std::vector<float>& x, int clusters) {
  std::vector<float> y(x.size());
  for (int c = 0; c < clusters; ++c) {
    for (int r = 0; r < kClusterSize; ++r) {
      for (int t = 0; t < kClusterRow; ++t) {
        auto at = [&](int q) { return 2.0f * x[(c * kClusterSize + q) * kClusterRow + t]; };
        float sum = at((r + 1) % kClusterSize);
        for (int q = 2; q < kClusterSize; ++q) {
          sum = sum + at((r + q) % kClusterSize);
        }
        y[(c * kClusterSize + r) * kClusterRow + t] = sum;
      }
    }
  }
  return y;
}

} // namespace tessera::testing
