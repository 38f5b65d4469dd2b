#include "text/fingerprint.h"

#include <cstring>

namespace t2i::text {
namespace {

constexpr std::uint64_t kPrime1 = 0x9E3779B185EBCA87ull;  // xxHash64's primes
constexpr std::uint64_t kPrime2 = 0xC2B2AE3D27D4EB4Full;

std::uint64_t rotl(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

std::uint64_t round(std::uint64_t state, std::uint64_t word) {
  return rotl(state ^ (word * kPrime2), 31) * kPrime1;
}

} // namespace

Fingerprint& Fingerprint::add(const void* data, std::size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::size_t i = 0;
  for (; i + 8 <= bytes; i += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, p + i, 8);
    state_ = round(state_, word);
  }
  if (i < bytes) {
    std::uint64_t word = 0;
    std::memcpy(&word, p + i, bytes - i);
    state_ = round(state_, word ^ (static_cast<std::uint64_t>(bytes - i) << 56));
  }
  length_ += bytes;
  // The length separates ("ab", "c") from ("a", "bc").
  state_ = round(state_, length_);
  return *this;
}

Fingerprint& Fingerprint::add(std::string_view text) { return add(text.data(), text.size()); }

Fingerprint& Fingerprint::add(std::uint64_t value) { return add(&value, sizeof value); }

std::uint64_t Fingerprint::value() const {
  std::uint64_t h = state_;  // xxHash64's avalanche
  h ^= h >> 33;
  h *= kPrime2;
  h ^= h >> 29;
  h *= 0x165667B19E3779F9ull;
  h ^= h >> 32;
  return h;
}

std::string Fingerprint::hex() const {
  static const char digits[] = "0123456789abcdef";
  std::string out(16, '0');
  std::uint64_t v = value();
  for (int i = 15; i >= 0; --i, v >>= 4) out[static_cast<std::size_t>(i)] = digits[v & 0xF];
  return out;
}

} // namespace t2i::text
