// Text embeddings computed once per caption and kept on disk (Imagen freezes T5 for this
// reason, paper §5.2): float16, keyed by the encoder's identity, the max text length and the
// caption text; read through a memory map while training.
//
// Two files: the data file `path`, a sequence of records
//   u32 text bytes | u32 tokens | text | zeros to a multiple of 8 |
//   tokens × width float16 (the real tokens only; </s> included) | zeros to a multiple of 8
// (little-endian), and the index `path`.index, a small JSON object naming the encoder, max_len,
// width, the number of records and the data bytes they fill. Records are appended a batch at a
// time and the index is replaced atomically after each, so a build that stops (cancelled or
// killed) resumes from the last complete batch; bytes past the index's count are discarded.
#pragma once

#include "t2i/job.h"

#include "io/mapped_file.h"
#include "text/text_encoder.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace t2i::text {

struct CacheBuildSettings {
  std::int64_t max_len = 64;
  std::int64_t batch_size = 32;
};

struct CacheBuildStats {
  std::int64_t captions = 0;
  std::int64_t unique = 0;
  std::int64_t reused = 0;
  std::int64_t encoded = 0;
  bool cancelled = false;
  std::uint64_t bytes = 0;
};

/// Makes the cache at `path` hold every caption for `encoder` at settings.max_len: captions
/// already there are reused, the others encoded (shortest first, in batches) and appended. A
/// cache built for another encoder or max_len is started afresh. Trainable encoders are refused.
/// A job (t2i/job.h): counts "text embeddings" (unique captions cached of those wanted) and
/// stops before the next batch when cancelled.
CacheBuildStats build_embedding_cache(TextEncoder& encoder, const std::vector<std::string>& captions,
                                      const std::string& path, const CacheBuildSettings& settings,
                                      const job::Context& job = {});

/// A cache opened for reading; lookups are const and thread-safe.
class EmbeddingCache {
public:
  /// Maps the data file and indexes its records; errors name the file and the problem.
  static EmbeddingCache open(const std::string& path);

  const std::string& encoder() const { return encoder_; }
  std::int64_t max_len() const { return max_len_; }
  std::int64_t width() const { return width_; }
  std::int64_t size() const { return static_cast<std::int64_t>(entries_.size()); }
  std::uint64_t data_bytes() const { return data_bytes_; }
  double mean_tokens() const;

  /// True when this cache was built by `identity` with `max_len`.
  bool matches(const std::string& identity, std::int64_t max_len) const;
  bool contains(std::string_view text) const { return entries_.count(text) > 0; }

  /// The stored embedding of one caption: [tokens, width] float16, viewing the mapping.
  torch::Tensor embedding(std::string_view text) const;

  /// The condition for a batch, as the encoder would give it (float32, padding zeroed);
  /// a caption missing from the cache is an error naming it.
  TextCondition lookup(const std::vector<std::string>& texts, Padding padding = Padding::Longest) const;

private:
  struct Entry {
    std::size_t offset;  // of the float16 values
    std::int64_t tokens;
  };
  std::shared_ptr<io::MappedFile> file_;
  std::string path_;
  std::string encoder_;
  std::int64_t max_len_ = 0;
  std::int64_t width_ = 0;
  std::uint64_t data_bytes_ = 0;
  std::unordered_map<std::string_view, Entry> entries_;  // keys view the mapping
};

/// Bytes of one record (see the format above).
std::uint64_t record_bytes(std::uint64_t text_bytes, std::int64_t tokens, std::int64_t width);

} // namespace t2i::text
