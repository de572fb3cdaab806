// cumsum (ops/scan) on a GPU: the cases of scan_cases.h against the double reference, with
// NaN-poisoned outputs and block counts from one to many. FAILS without a CUDA device.
#include "base/float16.h"
#include "jit/compiled_kernel.h"
#include "ops/scan_cases.h"
#include "runtime/driver.h"
#include "runtime/memory.h"

#include <catch2/catch.hpp>

using namespace tessera;
using tessera::test::ScanCase;

TEST_CASE("gpu: cumsum matches the exact prefix sums", "[gpu][ops][scan]") {
  REQUIRE(device_count() > 0); // throws DriverError without a driver: the test fails
  for (const ScanCase& c : test::scan_cases()) {
    const CompiledKernel k = Runtime::compile(test::scan_kernel(c));
    for (std::int64_t tokens : {std::int64_t{1}, std::int64_t{7}, std::int64_t{1000}}) {
      INFO(c.name() << " T=" << tokens);
      const std::vector<float> x = test::scan_input(tokens * c.n, 29 + c.n);
      const DeviceBuffer dx = DeviceBuffer::from_host(x);
      const std::size_t count = x.size();
      DeviceBuffer dy(count * dtype_size(c.out));
      dy.fill_bytes(0xff); // NaN in f32 and bf16
      k.launch(nullptr, dx.view(DType::f32, {tokens, c.n}), dy.view(c.out, {tokens, c.n}));
      synchronize_device();
      std::vector<float> y(count);
      if (c.out == DType::bf16) {
        const std::vector<bf16> h = dy.to_host<bf16>(count);
        for (std::size_t i = 0; i < count; ++i) {
          y[i] = static_cast<float>(h[i]);
        }
      } else {
        y = dy.to_host<float>(count);
      }
      const std::int64_t bad = test::scan_mismatches(
          x, tokens, c.n, c.out == DType::bf16, [&](std::int64_t i) { return double(y[i]); },
          [&](std::int64_t t, int i, double g, double want) {
            UNSCOPED_INFO("row " << t << " element " << i << ": got " << g << ", expected "
                                 << want);
          });
      CHECK(bad == 0);
    }
  }
}
