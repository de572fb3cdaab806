/** \file
 * The host threads that run a CPU kernel's grid. One process-wide pool, sized to the hardware
 * concurrency and reused across launches (no thread is created per launch); the launching thread
 * works too. Blocks are handed out dynamically in small chunks, so uneven blocks balance.
 */
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace tessera::cpu {

/** A launch grid of up to three dimensions (CUDA's gridDim). */
struct Grid {
  std::int64_t x = 1, y = 1, z = 1;
  /** Number of blocks. */
  std::int64_t count() const { return x * y * z; }
};

/**
 * The ABI of a compiled block function: `args` is the kernel's argument array (one pointer per
 * tensor or scalar slot), (bx, by, bz) the block index, `scratch` this thread's block-local
 * memory (shared and fragment buffers), 64-byte aligned, at least the size the kernel asked for.
 */
using BlockFn = void (*)(void** args, std::int64_t bx, std::int64_t by, std::int64_t bz,
                         void* scratch);

/** A fixed set of worker threads that run index ranges in parallel. */
class ThreadPool {
public:
  /** `num_threads` threads take part in each job, the caller included; 0 means
   * std::thread::hardware_concurrency(). */
  explicit ThreadPool(unsigned num_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /** Threads that run a job, the calling thread included. */
  unsigned size() const { return static_cast<unsigned>(workers_.size()) + 1; }

  /** The process-wide pool that kernel launches use. */
  static ThreadPool& global();

  /** Calls body(begin, end, worker) on disjoint chunks covering [0, n), from up to size()
   * threads, and returns when all are done; `worker` < size() identifies the thread. The first
   * exception a chunk throws is rethrown here (other chunks still run). A call from inside a job
   * (nesting) runs serially on the calling thread. */
  template <class Body> void parallel_for(std::int64_t n, std::int64_t grain, Body&& body) {
    run(n, grain, &trampoline<std::remove_reference_t<Body>>, &body);
  }

private:
  using ChunkFn = void (*)(void* ctx, std::int64_t begin, std::int64_t end, unsigned worker);
  template <class Body>
  static void trampoline(void* ctx, std::int64_t begin, std::int64_t end, unsigned worker) {
    (*static_cast<Body*>(ctx))(begin, end, worker);
  }

  struct Job;
  void run(std::int64_t n, std::int64_t grain, ChunkFn fn, void* ctx);
  void worker_main(unsigned index);
  static void work_on(Job& job, unsigned worker);

  std::vector<std::thread> workers_;
  std::mutex launch_mutex_; // one job at a time
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  Job* job_ = nullptr;
  std::uint64_t generation_ = 0;
  unsigned finished_ = 0;
  bool stop_ = false;
};

/**
 * Runs `fn` once for every block of `grid`, in parallel over the pool's threads; each call gets
 * a scratch buffer of `scratch_bytes` owned by the calling thread (reused, not cleared, like GPU
 * shared memory). Returns when every block has run.
 */
void run_grid(BlockFn fn, void** args, const Grid& grid, std::size_t scratch_bytes,
              ThreadPool& pool = ThreadPool::global());

} // namespace tessera::cpu
