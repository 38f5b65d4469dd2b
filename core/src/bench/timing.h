// The benchmarks' clock: every `t2i bench` figure is steady-clock wall time measured here.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

namespace t2i::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

inline double seconds_of(const std::function<void()>& work) {
  const auto start = Clock::now();
  work();
  return seconds_since(start);
}

/// The median, which one slow repetition on a shared machine does not move.
inline double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

} // namespace t2i::bench
