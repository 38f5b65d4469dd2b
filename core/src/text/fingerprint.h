// Content fingerprints for cache keys: any changed byte of a model or a tokenizer gives another
// key, so an embedding cache is never reused for an encoder it was not built with.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace t2i::text {

/// An incremental 64-bit hash (multiply-rotate rounds over 8-byte words, as in xxHash64's
/// round); fast enough to hash a T5 checkpoint's weights at load time. Not cryptographic.
class Fingerprint {
public:
  Fingerprint& add(const void* data, std::size_t bytes);
  Fingerprint& add(std::string_view text);
  Fingerprint& add(std::uint64_t value);

  std::uint64_t value() const;
  std::string hex() const;  ///< 16 lowercase hex digits

private:
  std::uint64_t state_ = 0x9E3779B97F4A7C15ull;
  std::uint64_t length_ = 0;
};

} // namespace t2i::text
