// Random numbers and hashes whose values are fixed by the seed on every platform and library
// version: splits, cache identities and batch orders are stored and compared across runs, which
// std::hash and the std:: distributions do not allow.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

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

/// FNV-1a, 64 bits, fed incrementally.
class StableHash {
public:
  StableHash& bytes(const void* data, std::size_t size) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i) {
      value_ ^= p[i];
      value_ *= 0x100000001b3ULL;
    }
    return *this;
  }
  StableHash& u64(std::uint64_t v) {
    unsigned char le[8];
    for (int i = 0; i < 8; ++i) le[i] = static_cast<unsigned char>(v >> (8 * i));
    return bytes(le, 8);
  }
  /// Length-prefixed, so that consecutive strings cannot be confused with one another.
  StableHash& text(std::string_view s) { return u64(s.size()).bytes(s.data(), s.size()); }
  std::uint64_t value() const { return value_; }

private:
  std::uint64_t value_ = 0xcbf29ce484222325ULL;
};

/// 16 lowercase hex digits.
inline std::string hex64(std::uint64_t v) {
  static const char digits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) out[static_cast<std::size_t>(i)] = digits[v & 15];
  return out;
}

} // namespace t2i::data
