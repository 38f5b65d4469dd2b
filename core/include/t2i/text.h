// Text conditioning as the UI and the CLI see it: tokenize, encode with a T5 folder, and build
// or inspect an embedding cache. Plain C++ only; the torch side lives in core/src/text/.
#pragma once

#include "t2i/job.h"
#include "t2i/runtime.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace t2i::text {

struct Tokenized {
  std::vector<std::int64_t> ids;    ///< pieces then </s> = 1
  std::vector<std::string> pieces;  ///< the piece of every id
  bool truncated = false;           ///< the text had more than max_len - 1 pieces
  bool invalid_utf8 = false;        ///< bytes that were not UTF-8 became <unk>
};

/// Tokenizes one text with a SentencePiece model file.
Tokenized tokenize(const std::string& spm_path, const std::string& text, std::int64_t max_len);
std::string to_json(const Tokenized& tokenized);  ///< one line; bytes that are not UTF-8 become U+FFFD

/// A Hugging Face T5 folder (config.json + model.safetensors / shards / pytorch_model.bin).
struct T5Source {
  std::string folder;
  std::string spm;  ///< the SentencePiece model; empty = <folder>/spiece.model
  runtime::Precision precision = runtime::Precision::Float32;
};

struct EncodeSummary {
  std::string encoder;                 ///< the encoder's identity
  std::vector<std::int64_t> shape;     ///< [1, L, D]
  std::vector<std::int64_t> ids;       ///< the tokens encoded
  double mean = 0;                     ///< over the real tokens' values
  double std = 0;
  std::vector<float> first_values;     ///< the first values of the first token
  double seconds = 0;                  ///< encoding time (after loading)
};

/// Loads a T5 encoder and encodes one text.
EncodeSummary encode_summary(const T5Source& source, const std::string& text, std::int64_t max_len);

struct CacheBuildOptions {
  T5Source t5;
  std::string path;                 ///< the cache's data file; its index is <path>.index
  std::int64_t max_len = 64;        ///< tokens per caption, </s> included
  std::int64_t batch_size = 32;     ///< captions encoded together
};

struct CacheBuildReport {
  std::string encoder;          ///< identity of the encoder the cache belongs to
  std::int64_t captions = 0;    ///< captions given
  std::int64_t unique = 0;      ///< distinct caption texts
  std::int64_t reused = 0;      ///< already in the cache
  std::int64_t encoded = 0;     ///< encoded by this build
  bool cancelled = false;       ///< stopped early; building again resumes
  std::uint64_t bytes = 0;      ///< size of the data file
  double seconds = 0;
};

/// Encodes every caption not yet in the cache and appends it. A job (t2i/job.h): counts "text
/// embeddings" (unique captions cached of those wanted) after every batch; cancelled, it stops
/// after the current batch and building again resumes.
CacheBuildReport build_cache(const std::vector<std::string>& captions, const CacheBuildOptions& options,
                             const job::Context& job = {});
std::string to_json(const CacheBuildReport& report);  ///< one line

struct CacheInfo {
  std::string encoder;
  std::int64_t max_len = 0;
  std::int64_t width = 0;
  std::int64_t entries = 0;
  std::uint64_t data_bytes = 0;
  double mean_tokens = 0;       ///< average tokens per caption, </s> included
};

/// Reads a cache's index and records (without loading the embeddings).
CacheInfo inspect_cache(const std::string& path);
std::string to_json(const CacheInfo& info);  ///< one line

/// Bytes a cache takes for one caption of `text_bytes` bytes and `tokens` tokens at `width`.
std::uint64_t cache_record_bytes(std::uint64_t text_bytes, std::int64_t tokens, std::int64_t width);

/// Non-empty lines of a text file (one caption per line; a trailing '\r' is dropped).
std::vector<std::string> read_caption_lines(const std::string& path);

} // namespace t2i::text
