// Random numbers whose values are fixed by the seed on every platform and library version: splits
// and batch orders are stored and compared across runs, which the std:: distributions do not allow.
#pragma once

#include <cstdint>

namespace t2i::data {

/// SplitMix64's output function (Steele, Lea & Flood 2014): a bijective 64-bit mix.
constexpr std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// A seed derived from a seed and a stream number (epoch, sample index, …).
constexpr std::uint64_t mix64(std::uint64_t seed, std::uint64_t stream) { return mix64(seed ^ mix64(stream)); }

/// SplitMix64 generator.
class StableRng {
public:
  explicit StableRng(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    const std::uint64_t out = mix64(state_);
    state_ += 0x9e3779b97f4a7c15ULL;
    return out;
  }

  /// Uniform in [0, n), without modulo bias (n > 0).
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t threshold = (0 - n) % n;
    for (;;) {
      const std::uint64_t r = next();
      if (r >= threshold) return r % n;
    }
  }

  /// Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

private:
  std::uint64_t state_;
};

} // namespace t2i::data
