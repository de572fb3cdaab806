/** \file
 * Tiny helpers for the benchmark programs: wall-clock timing and medians.
 */
#pragma once

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

} // namespace tessera::bench
