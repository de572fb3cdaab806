/** \file
 * Thread-block clusters on the CPU backend. On the GPU the blocks of a cluster run at the same
 * time and may wait for each other (a cluster barrier); a CPU launch that ran blocks one after
 * another would deadlock at the first such barrier. So a kernel with a cluster runs cluster by
 * cluster: the pool hands out whole clusters, and each cluster's blocks run on their own host
 * threads at once, meeting at a std::barrier wherever the kernel has a cluster barrier. JIT
 * code reaches that barrier through tessera_cpu_cluster_barrier (bound as kClusterBarrierSymbol).
 */
#pragma once

#include "runtime/cpu/thread_pool.h"

namespace tessera::cpu {

/** The name JIT code calls the cluster barrier by. */
inline constexpr const char* kClusterBarrierSymbol = "tessera_cpu_cluster_barrier";

/**
 * Runs `fn` for every block of `grid`, whose dimensions `cluster` divides (a UserError
 * otherwise): clusters in parallel over the pool, the blocks of one cluster concurrently, each
 * with its own scratch of `scratch_bytes`. A block that returns leaves the cluster's barrier (as
 * an exited GPU thread stops counting), so the others do not wait for it.
 */
void run_grid_clusters(BlockFn fn, void** args, const Grid& grid, const Grid& cluster,
                       std::size_t scratch_bytes, ThreadPool& pool = ThreadPool::global());

} // namespace tessera::cpu

extern "C" {
/** Waits until every running block of the calling block's cluster has arrived. Outside a
 * cluster launch (a single block) it returns at once. */
void tessera_cpu_cluster_barrier();
}
