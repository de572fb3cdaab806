#include "base/error.h"
#include "runtime/compile_cuda.h"
#include "runtime/device.h"
#include "runtime/driver.h"
#include "test_util.h"

#include <catch2/catch.hpp>

using namespace tessera;
using Catch::Matchers::Contains;

// These run where libcuda cannot be loaded: on machines without a driver, and everywhere
// through the `runtime_driver_absent` CTest entry, which points TESSERA_LIBCUDA at a file that
// does not exist (the tag is hidden so the default run skips them on GPU machines).
TEST_CASE("without a driver everything but launching works", "[.no-driver]") {
  REQUIRE_FALSE(driver_available());
  CHECK_THAT(driver_unavailable_reason(), Contains("no CUDA driver found"));
  try {
    driver();
    FAIL("no exception");
  } catch (const DriverError& e) {
    CHECK_THAT(std::string(e.what()), Contains("no CUDA driver found"));
    CHECK(e.code() == 0);
  }
  CHECK_THROWS_AS(device_count(), DriverError);
  CHECK_THROWS_AS(device_info(0), DriverError);
  CHECK_THROWS_AS(use_device(0), DriverError);
  CHECK_THROWS_AS(DeviceBuffer(1024), DriverError);
  CHECK_THROWS_AS(Stream(), DriverError);
  CHECK(driver_error_string(CUDA_ERROR_OUT_OF_MEMORY) == "CUresult 2");

  // Compiling for an explicit arch works; "auto" explains that it needs a GPU.
  CompileOptions o;
  o.arch = "sm_90a";
  auto program = compile_cuda(test::kAxpySource, {"axpy"}, o);
  CHECK(program->cubin().size() > 0);
  CHECK(program->resources("axpy").registers > 0);
  try {
    program->kernel("axpy");
    FAIL("no exception");
  } catch (const DriverError& e) {
    CHECK_THAT(std::string(e.what()), Contains("no CUDA driver found"));
  }
  o.arch = "auto";
  try {
    compile_cuda(test::kAxpySource, o);
    FAIL("no exception");
  } catch (const DriverError& e) {
    CHECK_THAT(std::string(e.what()), Contains("no CUDA driver found"));
    CHECK_THAT(std::string(e.what()), Contains("explicit arch"));
  }
}

TEST_CASE("driver errors are descriptive whether or not a driver is present", "[driver]") {
  try {
    check(CUDA_ERROR_INVALID_VALUE, "cuSomething");
    FAIL("no exception");
  } catch (const DriverError& e) {
    CHECK_THAT(std::string(e.what()), Contains("cuSomething failed"));
    CHECK(e.code() == CUDA_ERROR_INVALID_VALUE);
  }
  CHECK_NOTHROW(check(CUDA_SUCCESS, "cuSomething"));
  if (!driver_available()) {
    CHECK_THAT(driver_unavailable_reason(), Contains("no CUDA driver found"));
  } else {
    CHECK(driver_unavailable_reason().empty());
  }
}
