#include "runtime/cpu/cluster.h"

#include "base/error.h"

#include <barrier>
#include <cstddef>
#include <fmt/format.h>
#include <memory>
#include <new>
#include <thread>
#include <vector>

namespace tessera::cpu {

namespace {

using ClusterBarrier = std::barrier<>;

// The barrier of the cluster the current host thread is running a block of.
thread_local ClusterBarrier* t_cluster_barrier = nullptr;

struct AlignedFree {
  void operator()(std::byte* p) const { ::operator delete[](p, std::align_val_t(64)); }
};
using ScratchBuffer = std::unique_ptr<std::byte[], AlignedFree>;

ScratchBuffer make_scratch(std::size_t bytes) {
  const std::size_t rounded = (std::max<std::size_t>(bytes, 64) + 4095) & ~std::size_t(4095);
  return ScratchBuffer(static_cast<std::byte*>(::operator new[](rounded, std::align_val_t(64))));
}

} // namespace

void run_grid_clusters(BlockFn fn, void** args, const Grid& grid, const Grid& cluster,
                       std::size_t scratch_bytes, ThreadPool& pool) {
  if (fn == nullptr) {
    throw InternalError("run_grid_clusters: null block function");
  }
  if (grid.x < 0 || grid.y < 0 || grid.z < 0) {
    throw UserError("CPU launch: negative grid dimension");
  }
  if (cluster.x < 1 || cluster.y < 1 || cluster.z < 1 || grid.x % cluster.x || grid.y % cluster.y ||
      grid.z % cluster.z) {
    throw UserError(fmt::format("CPU launch: cluster ({}, {}, {}) does not divide the grid "
                                "({}, {}, {})",
                                cluster.x, cluster.y, cluster.z, grid.x, grid.y, grid.z));
  }
  const Grid clusters{grid.x / cluster.x, grid.y / cluster.y, grid.z / cluster.z};
  const std::int64_t size = cluster.count();
  pool.parallel_for(clusters.count(), 1, [&](std::int64_t begin, std::int64_t end, unsigned) {
    std::vector<ScratchBuffer> scratch;
    for (std::int64_t r = 0; r < size; ++r) {
      scratch.push_back(make_scratch(scratch_bytes));
    }
    for (std::int64_t c = begin; c < end; ++c) {
      const std::int64_t qx = c % clusters.x, qy = (c / clusters.x) % clusters.y,
                         qz = c / (clusters.x * clusters.y);
      ClusterBarrier barrier(size);
      auto run_block = [&](std::int64_t r) {
        t_cluster_barrier = &barrier;
        fn(args, qx * cluster.x + r % cluster.x, qy * cluster.y + (r / cluster.x) % cluster.y,
           qz * cluster.z + r / (cluster.x * cluster.y), scratch[r].get());
        t_cluster_barrier = nullptr;
        barrier.arrive_and_drop();
      };
      {
        std::vector<std::jthread> others;
        for (std::int64_t r = 1; r < size; ++r) {
          others.emplace_back(run_block, r);
        }
        run_block(0);
      } // joins the others
    }
  });
}

} // namespace tessera::cpu

extern "C" void tessera_cpu_cluster_barrier() {
  if (tessera::cpu::t_cluster_barrier != nullptr) {
    tessera::cpu::t_cluster_barrier->arrive_and_wait();
  }
}
