/** \file
 * CudaGraph: the work a callable enqueues on a stream, captured into a CUDA graph once and
 * replayed with one launch — how the mHC tests check that ops are capturable (they allocate
 * nothing and never synchronise) and how the benchmarks time them without launch overhead.
 *
 * \code
 *   mhc::mhc_pre(cfg, args, stream);                  // compile outside the capture
 *   CudaGraph graph(stream, [&] { mhc::mhc_pre(cfg, args, stream); });
 *   graph.launch(stream);
 *   std::vector<double> ms = time_replays_ms(graph, stream, 20);
 * \endcode
 *
 * The graph entry points come from the dlopen'd driver (runtime/driver.h), so this works in
 * every binary and fails with DriverError only when used without a driver.
 */
#pragma once

#include <cuda.h>
#include <functional>
#include <vector>

namespace tessera {

/** An instantiated CUDA graph; move-only. */
class CudaGraph {
public:
  /**
   * Captures what `record` enqueues on `stream` (thread-local capture mode: other threads' CUDA
   * calls are not affected) and instantiates it. When `record` throws, the capture is ended and
   * discarded and the exception propagates. Throws DriverError without a driver or when the
   * driver rejects the capture (e.g. a synchronising call inside `record`).
   */
  CudaGraph(CUstream stream, const std::function<void()>& record);
  ~CudaGraph();
  CudaGraph(CudaGraph&& other) noexcept;
  CudaGraph& operator=(CudaGraph&& other) noexcept;
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;

  /** Enqueues one replay of the whole graph on `stream`. */
  void launch(CUstream stream) const;

private:
  void destroy();
  CUgraph graph_ = nullptr;
  CUgraphExec exec_ = nullptr;
};

/** Times `runs` replays of `graph` on `stream` (on `device`) with CUDA events, one event pair
 * and a synchronisation per replay; returns milliseconds per replay. */
std::vector<double> time_replays_ms(const CudaGraph& graph, CUstream stream, int runs,
                                    int device = 0);

} // namespace tessera
