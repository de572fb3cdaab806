#include "runtime/cpu/thread_pool.h"

#include "base/error.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <new>

namespace tessera::cpu {

struct ThreadPool::Job {
  ChunkFn fn = nullptr;
  void* ctx = nullptr;
  std::int64_t n = 0;
  std::int64_t grain = 1;
  std::atomic<std::int64_t> next{0};
  std::mutex error_mutex;
  std::exception_ptr error;
};

namespace {

// Set on pool threads and on a caller while it runs a job, so nested parallel_for runs inline.
thread_local bool t_inside_job = false;

// Block-local memory of the current thread, grown on demand and kept for later launches.
struct Scratch {
  struct Free {
    void operator()(std::byte* p) const { ::operator delete[](p, std::align_val_t(64)); }
  };
  std::unique_ptr<std::byte[], Free> data;
  std::size_t size = 0;

  void* get(std::size_t bytes) {
    if (bytes > size) {
      const std::size_t rounded = (bytes + 4095) & ~std::size_t(4095);
      data.reset(static_cast<std::byte*>(::operator new[](rounded, std::align_val_t(64))));
      size = rounded;
    }
    return data.get();
  }
};
thread_local Scratch t_scratch;

} // namespace

ThreadPool::ThreadPool(unsigned num_threads) {
  if (num_threads == 0) {
    num_threads = std::max(1u, std::thread::hardware_concurrency());
  }
  workers_.reserve(num_threads - 1);
  for (unsigned i = 1; i < num_threads; ++i) {
    workers_.emplace_back([this, i] { worker_main(i); });
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : workers_) {
    t.join();
  }
}

ThreadPool& ThreadPool::global() {
  static ThreadPool pool;
  return pool;
}

void ThreadPool::work_on(Job& job, unsigned worker) {
  for (;;) {
    const std::int64_t begin = job.next.fetch_add(job.grain, std::memory_order_relaxed);
    if (begin >= job.n) {
      return;
    }
    const std::int64_t end = std::min(job.n, begin + job.grain);
    try {
      job.fn(job.ctx, begin, end, worker);
    } catch (...) {
      std::lock_guard lock(job.error_mutex);
      if (!job.error) {
        job.error = std::current_exception();
      }
    }
  }
}

void ThreadPool::worker_main(unsigned index) {
  t_inside_job = true;
  std::uint64_t seen = 0;
  for (;;) {
    Job* job = nullptr;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) {
        return;
      }
      seen = generation_;
      job = job_;
    }
    work_on(*job, index);
    {
      std::lock_guard lock(mutex_);
      ++finished_;
    }
    done_.notify_one();
  }
}

void ThreadPool::run(std::int64_t n, std::int64_t grain, ChunkFn fn, void* ctx) {
  if (n <= 0) {
    return;
  }
  grain = std::max<std::int64_t>(1, grain);
  Job job;
  job.fn = fn;
  job.ctx = ctx;
  job.n = n;
  job.grain = grain;
  // Small jobs, nested calls and single-thread pools run here, without waking anyone.
  if (workers_.empty() || n <= grain || t_inside_job) {
    work_on(job, 0);
  } else {
    std::lock_guard launch(launch_mutex_);
    {
      std::lock_guard lock(mutex_);
      job_ = &job;
      finished_ = 0;
      ++generation_;
    }
    wake_.notify_all();
    t_inside_job = true;
    work_on(job, 0);
    t_inside_job = false;
    // Every worker takes part in every generation, so once all have reported, none can still
    // touch `job` (which lives on this stack).
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return finished_ == workers_.size(); });
    job_ = nullptr;
  }
  if (job.error) {
    std::rethrow_exception(job.error);
  }
}

void run_grid(BlockFn fn, void** args, const Grid& grid, std::size_t scratch_bytes,
              ThreadPool& pool) {
  if (fn == nullptr) {
    throw InternalError("run_grid: null block function");
  }
  if (grid.x < 0 || grid.y < 0 || grid.z < 0) {
    throw UserError("CPU launch: negative grid dimension");
  }
  const std::int64_t blocks = grid.count();
  // About 8 chunks per thread: enough to balance uneven blocks, few enough atomics.
  const std::int64_t grain =
      std::max<std::int64_t>(1, blocks / (static_cast<std::int64_t>(pool.size()) * 8));
  pool.parallel_for(blocks, grain, [&](std::int64_t begin, std::int64_t end, unsigned) {
    void* scratch = t_scratch.get(std::max<std::size_t>(scratch_bytes, 64));
    std::int64_t bx = begin % grid.x;
    std::int64_t rest = begin / grid.x;
    std::int64_t by = rest % grid.y;
    std::int64_t bz = rest / grid.y;
    for (std::int64_t b = begin; b < end; ++b) {
      fn(args, bx, by, bz, scratch);
      if (++bx == grid.x) {
        bx = 0;
        if (++by == grid.y) {
          by = 0;
          ++bz;
        }
      }
    }
  });
}

} // namespace tessera::cpu
