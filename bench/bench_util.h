/** \file
 * Tiny helpers for the benchmark programs: wall-clock timing and medians.
 */
#pragma once

#include "runtime/driver.h"
#include "runtime/memory.h"

#include <algorithm>
#include <chrono>
#include <vector>

namespace tessera::bench {

inline double now_us() {
  return std::chrono::duration<double, std::micro>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/** Median of the samples (sorts a copy). */
inline double median(std::vector<double> v) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

inline double min_of(const std::vector<double>& v) {
  return v.empty() ? 0 : *std::min_element(v.begin(), v.end());
}

/** Device-to-device copy bandwidth of device 0 (read + write bytes per second) over 1 GiB:
 *  the ceiling every memory-bound figure is compared with. */
inline double copy_bandwidth() {
  constexpr std::size_t kBytes = std::size_t{1} << 30;
  DeviceBuffer a(kBytes), b(kBytes);
  a.fill_bytes(1);
  Event start, end;
  std::vector<double> ms;
  for (int i = 0; i < 25; ++i) {
    start.record(nullptr);
    check(driver().cuMemcpyDtoD(b.device_ptr(), a.device_ptr(), kBytes), "cuMemcpyDtoD");
    end.record(nullptr);
    end.synchronize();
    if (i >= 5) { // warm-up
      ms.push_back(Event::elapsed_ms(start, end));
    }
  }
  return 2.0 * kBytes / (median(ms) * 1e-3);
}

} // namespace tessera::bench
