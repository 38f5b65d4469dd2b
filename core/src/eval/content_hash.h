// A content hash for cache keys (FNV-1a style, 64 bit): which Inception weights and which image set a
// statistics file was made from. Not cryptographic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iomanip>
#include <sstream>
#include <string>
#include <string_view>

namespace t2i::eval {

class ContentHash {
public:
  /// FNV-1a rounds over 8-byte little-endian words (a weights file hashes in ~0.05 s), then the
  /// remaining bytes; the length goes in too, so a zero tail is not lost.
  ContentHash& add(const void* data, std::size_t bytes) {
    const auto* p = static_cast<const unsigned char*>(data);
    std::size_t i = 0;
    for (; i + 8 <= bytes; i += 8) {
      std::uint64_t word;
      std::memcpy(&word, p + i, 8);
      round(word);
    }
    for (; i < bytes; ++i) round(p[i]);
    round(bytes);
    return *this;
  }
  ContentHash& add(std::string_view text) { return add(text.data(), text.size()); }
  ContentHash& add(std::uint64_t value) {
    round(value);
    return *this;
  }

  std::string hex() const {
    std::ostringstream out;
    out << std::hex << std::setw(16) << std::setfill('0') << state_;
    return out.str();
  }

private:
  void round(std::uint64_t value) { state_ = (state_ ^ value) * 0x100000001B3ull; }

  std::uint64_t state_ = 0xCBF29CE484222325ull;
};

} // namespace t2i::eval
