#include "io/hash.h"

#include <cstdio>
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

// SHA-1 as FIPS 180-4 §6.1 specifies it: 512-bit blocks, big-endian words, 80 rounds.
std::string sha1_hex(std::string_view bytes) {
  std::uint32_t h[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
  std::string message(bytes);
  const std::uint64_t bits = static_cast<std::uint64_t>(bytes.size()) * 8;
  message.push_back(static_cast<char>(0x80));
  while (message.size() % 64 != 56) message.push_back('\0');
  for (int shift = 56; shift >= 0; shift -= 8) message.push_back(static_cast<char>((bits >> shift) & 0xFF));
  const auto rotl32 = [](std::uint32_t x, int r) { return (x << r) | (x >> (32 - r)); };
  for (std::size_t block = 0; block < message.size(); block += 64) {
    std::uint32_t w[80];
    for (int t = 0; t < 16; ++t) {
      w[t] = 0;
      for (int k = 0; k < 4; ++k) w[t] = (w[t] << 8) | static_cast<unsigned char>(message[block + 4 * t + k]);
    }
    for (int t = 16; t < 80; ++t) w[t] = rotl32(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
    std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int t = 0; t < 80; ++t) {
      std::uint32_t f, k;
      if (t < 20) f = (b & c) | (~b & d), k = 0x5A827999u;
      else if (t < 40) f = b ^ c ^ d, k = 0x6ED9EBA1u;
      else if (t < 60) f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDCu;
      else f = b ^ c ^ d, k = 0xCA62C1D6u;
      const std::uint32_t temp = rotl32(a, 5) + f + e + k + w[t];
      e = d, d = c, c = rotl32(b, 30), b = a, a = temp;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
  }
  char hex[41];
  for (int i = 0; i < 5; ++i) std::snprintf(hex + 8 * i, 9, "%08x", h[i]);
  return std::string(hex, 40);
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
