#include "io/hash.h"

#include <cstring>
#include <fstream>
#include <stdexcept>

namespace t2i::io {
namespace {

constexpr std::uint64_t kFnvOffset = 0xCBF29CE484222325ull;
constexpr std::uint64_t kFnvShortOffset = 1469598103934665603ull;
constexpr std::uint64_t kFnvPrime = 0x100000001B3ull;
constexpr std::uint64_t kXxSeed = 0x9E3779B97F4A7C15ull;
constexpr std::uint64_t kXxPrime1 = 0x9E3779B185EBCA87ull;  // xxHash64's primes
constexpr std::uint64_t kXxPrime2 = 0xC2B2AE3D27D4EB4Full;

std::uint64_t fnv_round(std::uint64_t state, std::uint64_t value) { return (state ^ value) * kFnvPrime; }

std::uint64_t rotl(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

std::uint64_t xx_round(std::uint64_t state, std::uint64_t word) { return rotl(state ^ (word * kXxPrime2), 31) * kXxPrime1; }

// Feeds each whole little-endian 8-byte word of p[0, size) to `round`; returns where the tail begins.
template <typename Round>
std::size_t each_word(const unsigned char* p, std::size_t size, Round round) {
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, p + i, 8);
    round(word);
  }
  return i;
}

std::uint64_t initial_state(HashScheme scheme) {
  switch (scheme) {
  case HashScheme::fnv1a_short_basis: return kFnvShortOffset;
  case HashScheme::xxhash_rounds: return kXxSeed;
  case HashScheme::fnv1a:
  case HashScheme::fnv1a_words: break;
  }
  return kFnvOffset;
}

} // namespace

Hash64::Hash64(HashScheme scheme) : scheme_(scheme), state_(initial_state(scheme)) {}

Hash64& Hash64::bytes(const void* data, std::size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  switch (scheme_) {
  case HashScheme::fnv1a:
  case HashScheme::fnv1a_short_basis:
    for (std::size_t i = 0; i < size; ++i) state_ = fnv_round(state_, p[i]);
    break;
  case HashScheme::fnv1a_words: {
    std::size_t i = each_word(p, size, [this](std::uint64_t word) { state_ = fnv_round(state_, word); });
    for (; i < size; ++i) state_ = fnv_round(state_, p[i]);
    state_ = fnv_round(state_, size);
    break;
  }
  case HashScheme::xxhash_rounds: {
    const std::size_t i = each_word(p, size, [this](std::uint64_t word) { state_ = xx_round(state_, word); });
    if (i < size) {
      std::uint64_t word = 0;
      std::memcpy(&word, p + i, size - i);
      state_ = xx_round(state_, word ^ (static_cast<std::uint64_t>(size - i) << 56));
    }
    length_ += size;
    state_ = xx_round(state_, length_);
    break;
  }
  }
  return *this;
}

Hash64& Hash64::u64(std::uint64_t value) {
  if (scheme_ == HashScheme::fnv1a_words) {
    state_ = fnv_round(state_, value);
    return *this;
  }
  unsigned char le[8];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<unsigned char>(value >> (8 * i));
  return bytes(le, 8);
}

Hash64& Hash64::text(std::string_view text) {
  // Only the bytewise FNV schemes' bytes() leave the length out; the others append it themselves.
  if (scheme_ == HashScheme::fnv1a || scheme_ == HashScheme::fnv1a_short_basis) u64(text.size());
  return bytes(text.data(), text.size());
}

std::uint64_t Hash64::value() const {
  if (scheme_ != HashScheme::xxhash_rounds) return state_;
  std::uint64_t h = state_;  // xxHash64's avalanche
  h ^= h >> 33;
  h *= kXxPrime2;
  h ^= h >> 29;
  h *= 0x165667B19E3779F9ull;
  h ^= h >> 32;
  return h;
}

std::string Hash64::hex() const { return hex64(value()); }

std::string hex64(std::uint64_t value) {
  static const char digits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, value >>= 4) out[static_cast<std::size_t>(i)] = digits[value & 15];
  return out;
}

std::string file_hash(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  Hash64 hash(HashScheme::fnv1a_short_basis);
  char buffer[1 << 16];
  while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) hash.bytes(buffer, static_cast<std::size_t>(in.gcount()));
  return hash.hex();
}

} // namespace t2i::io
