// The core's 64-bit content hashes: cache names, split orders, manifests and checkpoint hashes in
// PNG metadata. Not cryptographic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace t2i::io {

/// How a Hash64 mixes its input. Every scheme's values are stored (in cache names, manifests and
/// image metadata), so changing one would silently rebuild users' caches or orphan saved files;
/// the older schemes stay for the data they identify. New uses take fnv1a.
enum class HashScheme {
  /// FNV-1a 64 over every byte. u64() feeds 8 little-endian bytes, text() its length first.
  /// Identifies splits, image caches and manifests.
  fnv1a,
  /// fnv1a started from 1469598103934665603, FNV's offset basis with its last digit lost (the
  /// basis is 14695981039346656037). The checkpoint hash in generated PNGs' metadata (file_hash).
  fnv1a_short_basis,
  /// FNV-1a 64 rounds over 8-byte words (a weights file hashes in ~0.05 s), then the tail
  /// bytes one round each, then the length. u64() is one round. Keys FID reference statistics.
  fnv1a_words,
  /// xxHash64-style multiply-rotate rounds over 8-byte words, the running length after every
  /// piece, and xxHash64's avalanche. Fingerprints text encoders for embedding caches.
  xxhash_rounds,
};

/// An incremental 64-bit hash. Consecutive text() pieces are separated by their lengths, so
/// ("ab", "c") and ("a", "bc") differ.
class Hash64 {
public:
  explicit Hash64(HashScheme scheme = HashScheme::fnv1a);

  Hash64& bytes(const void* data, std::size_t size);
  Hash64& u64(std::uint64_t value);
  Hash64& text(std::string_view text);

  std::uint64_t value() const;
  std::string hex() const;  ///< 16 lowercase hex digits

private:
  HashScheme scheme_;
  std::uint64_t state_;
  std::uint64_t length_ = 0;
};

/// 16 lowercase hex digits.
std::string hex64(std::uint64_t value);

/// The SHA-1 of `bytes` as 40 lowercase hex digits. Only for names older versions derived from
/// it (studio 0.1.0's dataset cache folders); not for anything new.
std::string sha1_hex(std::string_view bytes);

/// The fnv1a_short_basis hash of a file's bytes, as hex: a short content hash for provenance in
/// PNG metadata.
/// Throws std::runtime_error naming the file when it cannot be read.
std::string file_hash(const std::string& path);

} // namespace t2i::io
