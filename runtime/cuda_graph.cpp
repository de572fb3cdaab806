#include "runtime/cuda_graph.h"

#include "runtime/driver.h"
#include "runtime/memory.h"

#include <utility>

namespace tessera {

CudaGraph::CudaGraph(CUstream stream, const std::function<void()>& record) {
  const DriverApi& api = driver();
  check(api.cuStreamBeginCapture(stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
        "cuStreamBeginCapture");
  try {
    record();
  } catch (...) {
    // End the capture so the stream is usable again; the partial graph is discarded.
    CUgraph partial = nullptr;
    api.cuStreamEndCapture(stream, &partial);
    if (partial) {
      api.cuGraphDestroy(partial);
    }
    throw;
  }
  check(api.cuStreamEndCapture(stream, &graph_), "cuStreamEndCapture");
  const CUresult r = api.cuGraphInstantiateWithFlags(&exec_, graph_, 0);
  if (r != CUDA_SUCCESS) {
    destroy();
    throw_driver_error(r, "cuGraphInstantiateWithFlags");
  }
}

CudaGraph::~CudaGraph() {
  destroy();
}

CudaGraph::CudaGraph(CudaGraph&& other) noexcept
    : graph_(std::exchange(other.graph_, nullptr)), exec_(std::exchange(other.exec_, nullptr)) {}

CudaGraph& CudaGraph::operator=(CudaGraph&& other) noexcept {
  if (this != &other) {
    destroy();
    graph_ = std::exchange(other.graph_, nullptr);
    exec_ = std::exchange(other.exec_, nullptr);
  }
  return *this;
}

void CudaGraph::destroy() {
  // Only reached with a loaded driver (the constructor needs one); errors at exit are ignored.
  if (exec_) {
    driver().cuGraphExecDestroy(exec_);
    exec_ = nullptr;
  }
  if (graph_) {
    driver().cuGraphDestroy(graph_);
    graph_ = nullptr;
  }
}

void CudaGraph::launch(CUstream stream) const {
  check(driver().cuGraphLaunch(exec_, stream), "cuGraphLaunch");
}

std::vector<double> time_replays_ms(const CudaGraph& graph, CUstream stream, int runs, int device) {
  Event start(device), end(device);
  std::vector<double> ms;
  ms.reserve(runs > 0 ? static_cast<std::size_t>(runs) : 0);
  for (int i = 0; i < runs; ++i) {
    start.record(stream);
    graph.launch(stream);
    end.record(stream);
    end.synchronize();
    ms.push_back(Event::elapsed_ms(start, end));
  }
  return ms;
}

} // namespace tessera
