// CudaGraph (runtime/cuda_graph.h) without a driver ([.no-driver], run by the
// runtime_driver_absent CTest entry): a clear DriverError before anything is recorded. The
// capture and replay themselves are GPU tests (cuda_graph_gpu_test.cpp).
#include "base/error.h"
#include "runtime/cuda_graph.h"
#include "runtime/driver.h"

#include <catch2/catch.hpp>

using namespace tessera;
using Catch::Matchers::Contains;

TEST_CASE("CudaGraph without a driver", "[.no-driver]") {
  REQUIRE_FALSE(driver_available());
  bool recorded = false;
  try {
    CudaGraph graph(nullptr, [&] { recorded = true; });
    FAIL("no exception");
  } catch (const DriverError& e) {
    CHECK_THAT(std::string(e.what()), Contains("no CUDA driver found"));
  }
  CHECK_FALSE(recorded);
}
