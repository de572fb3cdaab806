#include "base/error.h"
#include "runtime/cpu/thread_pool.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdint>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace tessera;
using namespace tessera::cpu;

namespace {

struct GridRecord {
  Grid grid;
  std::vector<std::atomic<int>> hits;
  std::atomic<int> misaligned{0};
  std::mutex mutex;
  std::set<std::thread::id> threads;
  explicit GridRecord(Grid g) : grid(g), hits(static_cast<std::size_t>(g.count())) {}
};

void record_block(void** args, std::int64_t bx, std::int64_t by, std::int64_t bz, void* scratch) {
  auto* rec = static_cast<GridRecord*>(args[0]);
  if (bx < 0 || by < 0 || bz < 0 || bx >= rec->grid.x || by >= rec->grid.y || bz >= rec->grid.z) {
    rec->misaligned.fetch_add(1000);
    return;
  }
  if (reinterpret_cast<std::uintptr_t>(scratch) % 64 != 0) {
    rec->misaligned.fetch_add(1);
  }
  // Scratch is private to the running thread: fill it and check nobody else wrote to it.
  auto* words = static_cast<std::int64_t*>(scratch);
  const std::int64_t id = (bz * rec->grid.y + by) * rec->grid.x + bx;
  for (int i = 0; i < 256; ++i) {
    words[i] = id;
  }
  for (int i = 0; i < 256; ++i) {
    if (words[i] != id) {
      rec->misaligned.fetch_add(1);
    }
  }
  rec->hits[static_cast<std::size_t>(id)].fetch_add(1);
  std::lock_guard lock(rec->mutex);
  rec->threads.insert(std::this_thread::get_id());
}

} // namespace

TEST_CASE("run_grid runs every block of a 3-D grid exactly once", "[cpu][thread_pool]") {
  for (Grid g : {Grid{1, 1, 1}, Grid{7, 1, 1}, Grid{5, 3, 2}, Grid{1000, 3, 1}, Grid{3, 1, 257}}) {
    GridRecord rec(g);
    void* args[] = {&rec};
    run_grid(&record_block, args, g, 256 * sizeof(std::int64_t));
    CHECK(rec.misaligned == 0);
    for (std::size_t i = 0; i < rec.hits.size(); ++i) {
      INFO("grid " << g.x << "x" << g.y << "x" << g.z << " block " << i);
      REQUIRE(rec.hits[i] == 1);
    }
  }
}

TEST_CASE("an empty grid runs nothing", "[cpu][thread_pool]") {
  GridRecord rec(Grid{0, 4, 1});
  void* args[] = {&rec};
  run_grid(&record_block, args, Grid{0, 4, 1}, 0);
  CHECK(rec.hits.empty());
}

TEST_CASE("the pool reuses its threads across launches", "[cpu][thread_pool]") {
  ThreadPool& pool = ThreadPool::global();
  std::set<std::thread::id> all;
  for (int launch = 0; launch < 50; ++launch) {
    GridRecord rec(Grid{64, 1, 1});
    void* args[] = {&rec};
    run_grid(&record_block, args, rec.grid, 2048);
    all.insert(rec.threads.begin(), rec.threads.end());
  }
  CHECK(all.size() <= pool.size());
}

TEST_CASE("parallel_for covers the range, propagates exceptions and nests", "[cpu][thread_pool]") {
  ThreadPool pool(3);
  CHECK(pool.size() == 3);
  std::vector<std::atomic<int>> hits(10001);
  pool.parallel_for(10001, 7, [&](std::int64_t begin, std::int64_t end, unsigned worker) {
    REQUIRE(worker < 3);
    for (std::int64_t i = begin; i < end; ++i) {
      hits[static_cast<std::size_t>(i)].fetch_add(1);
      if (i % 1000 == 0) {
        // Nested: runs inline on this thread.
        std::atomic<int> inner{0};
        pool.parallel_for(10, 1, [&](std::int64_t b, std::int64_t e, unsigned) {
          inner += static_cast<int>(e - b);
        });
        hits[static_cast<std::size_t>(i)].fetch_add(inner - 10);
      }
    }
  });
  for (auto& h : hits) {
    REQUIRE(h == 1);
  }
  CHECK_THROWS_AS(pool.parallel_for(100, 1,
                                    [](std::int64_t begin, std::int64_t, unsigned) {
                                      if (begin == 42) {
                                        throw std::runtime_error("block 42");
                                      }
                                    }),
                  std::runtime_error);
  // The pool still works after an exception.
  std::atomic<std::int64_t> sum{0};
  pool.parallel_for(1000, 3, [&](std::int64_t b, std::int64_t e, unsigned) {
    for (std::int64_t i = b; i < e; ++i) {
      sum += i;
    }
  });
  CHECK(sum == 999 * 1000 / 2);
}

TEST_CASE("run_grid rejects a null function and negative dims", "[cpu][thread_pool]") {
  CHECK_THROWS_AS(run_grid(nullptr, nullptr, Grid{}, 0), InternalError);
  CHECK_THROWS_AS(run_grid(&record_block, nullptr, Grid{-1, 1, 1}, 0), UserError);
}
