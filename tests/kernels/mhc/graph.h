// CUDA-graph capture for the mHC GPU tests and benchmarks. runtime/driver.h has no graph entry
// points yet, so they are resolved here from the already-loaded libcuda (never linked).
#pragma once

#include "base/error.h"
#include "runtime/driver.h"

#include <cuda.h>
#include <dlfcn.h>
#include <functional>
#include <string>

namespace tessera::mhc::testing {

/** A captured and instantiated CUDA graph of the work `record` enqueues on `stream`. */
class Graph {
public:
  Graph(CUstream stream, const std::function<void()>& record) {
    load();
    check(begin_(stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL), "cuStreamBeginCapture");
    try {
      record();
    } catch (...) {
      CUgraph g = nullptr;
      end_(stream, &g);
      if (g) {
        destroy_(g);
      }
      throw;
    }
    check(end_(stream, &graph_), "cuStreamEndCapture");
    check(instantiate_(&exec_, graph_, 0), "cuGraphInstantiateWithFlags");
  }
  ~Graph() {
    if (exec_) {
      exec_destroy_(exec_);
    }
    if (graph_) {
      destroy_(graph_);
    }
  }
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  void launch(CUstream stream) const { check(launch_(exec_, stream), "cuGraphLaunch"); }

private:
  using Begin = CUresult (*)(CUstream, CUstreamCaptureMode);
  using End = CUresult (*)(CUstream, CUgraph*);
  using Instantiate = CUresult (*)(CUgraphExec*, CUgraph, unsigned long long);
  using Launch = CUresult (*)(CUgraphExec, CUstream);
  using ExecDestroy = CUresult (*)(CUgraphExec);
  using Destroy = CUresult (*)(CUgraph);

  template <class F> static F sym(void* lib, const char* name) {
    void* p = dlsym(lib, name);
    if (!p) {
      throw DriverError(std::string("libcuda has no ") + name, 0);
    }
    return reinterpret_cast<F>(p);
  }
  void load() {
    driver(); // loads libcuda (throws DriverError without one)
    void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
    if (!lib) {
      throw DriverError("libcuda.so.1 is not loaded", 0);
    }
    begin_ = sym<Begin>(lib, "cuStreamBeginCapture_v2");
    end_ = sym<End>(lib, "cuStreamEndCapture");
    instantiate_ = sym<Instantiate>(lib, "cuGraphInstantiateWithFlags");
    launch_ = sym<Launch>(lib, "cuGraphLaunch");
    exec_destroy_ = sym<ExecDestroy>(lib, "cuGraphExecDestroy");
    destroy_ = sym<Destroy>(lib, "cuGraphDestroy");
  }

  Begin begin_ = nullptr;
  End end_ = nullptr;
  Instantiate instantiate_ = nullptr;
  Launch launch_ = nullptr;
  ExecDestroy exec_destroy_ = nullptr;
  Destroy destroy_ = nullptr;
  CUgraph graph_ = nullptr;
  CUgraphExec exec_ = nullptr;
};

} // namespace tessera::mhc::testing
