// The plain-C++ facade of the text area (t2i/text.h).
#include "t2i/text.h"

#include "io/text_file.h"
#include "t2i/log.h"
#include "t2i/runtime.h"
#include "text/embedding_cache.h"
#include "text/t5_encoder.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <sstream>
#include <stdexcept>

namespace t2i::text {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

} // namespace

Tokenized tokenize(const std::string& spm_path, const std::string& text, std::int64_t max_len) {
  const Tokenizer tokenizer = Tokenizer::from_file(spm_path);
  const TokenIds ids = tokenizer.encode(text, max_len);
  if (ids.truncated) log::core()->warn("the text was longer than {} tokens and was truncated (</s> kept)", max_len);
  if (ids.invalid_utf8) log::core()->warn("the text was not valid UTF-8; its invalid bytes became <unk>");
  Tokenized out;
  out.ids = ids.ids;
  out.truncated = ids.truncated;
  out.invalid_utf8 = ids.invalid_utf8;
  for (const std::int64_t id : out.ids) out.pieces.push_back(tokenizer.piece(id));
  return out;
}

std::string to_json(const Tokenized& t) {
  return nlohmann::json{{"ids", t.ids}, {"pieces", t.pieces}, {"truncated", t.truncated}, {"invalid_utf8", t.invalid_utf8}}
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

EncodeSummary encode_summary(const T5Source& source, const std::string& text, std::int64_t max_len) {
  const auto encoder = T5Encoder::from_folder(source.folder, source.spm, source.precision);
  const auto start = Clock::now();
  const TextCondition condition = encoder->encode({text}, max_len);
  EncodeSummary out;
  out.seconds = seconds_since(start);
  out.encoder = encoder->identity();
  out.shape = condition.embeddings.sizes().vec();
  out.ids = encoder->tokenizer().encode(text, max_len).ids;
  const auto real = condition.embeddings[0].slice(0, 0, static_cast<std::int64_t>(out.ids.size()));
  out.mean = real.mean().item<double>();
  out.std = real.std().item<double>();
  const auto first = real[0].slice(0, 0, 8).contiguous();
  out.first_values.assign(first.data_ptr<float>(), first.data_ptr<float>() + first.numel());
  return out;
}

CacheBuildReport build_cache(const std::vector<std::string>& captions, const CacheBuildOptions& options,
                             const job::Context& job) {
  const auto start = Clock::now();
  const auto encoder = T5Encoder::from_folder(options.t5.folder, options.t5.spm, options.t5.precision);
  CacheBuildSettings settings;
  settings.max_len = options.max_len;
  settings.batch_size = options.batch_size;
  const CacheBuildStats stats = build_embedding_cache(*encoder, captions, options.path, settings, job);
  CacheBuildReport report;
  report.encoder = encoder->identity();
  report.captions = stats.captions;
  report.unique = stats.unique;
  report.reused = stats.reused;
  report.encoded = stats.encoded;
  report.cancelled = stats.cancelled;
  report.bytes = stats.bytes;
  report.seconds = seconds_since(start);
  return report;
}

std::string to_json(const CacheBuildReport& r) {
  return nlohmann::json{{"encoder", r.encoder}, {"captions", r.captions}, {"unique", r.unique},
                        {"reused", r.reused},   {"encoded", r.encoded},   {"cancelled", r.cancelled},
                        {"bytes", r.bytes},     {"seconds", r.seconds}}
      .dump();
}

CacheInfo inspect_cache(const std::string& path) {
  const EmbeddingCache cache = EmbeddingCache::open(path);
  CacheInfo info;
  info.encoder = cache.encoder();
  info.max_len = cache.max_len();
  info.width = cache.width();
  info.entries = cache.size();
  info.data_bytes = cache.data_bytes();
  info.mean_tokens = cache.mean_tokens();
  return info;
}

std::string to_json(const CacheInfo& info) {
  return nlohmann::json{{"encoder", info.encoder},       {"max_len", info.max_len},
                        {"width", info.width},           {"entries", info.entries},
                        {"data_bytes", info.data_bytes}, {"mean_tokens", info.mean_tokens}}
      .dump();
}

std::uint64_t cache_record_bytes(std::uint64_t text_bytes, std::int64_t tokens, std::int64_t width) {
  return record_bytes(text_bytes, tokens, width);
}

std::vector<std::string> read_caption_lines(const std::string& path) {
  std::istringstream in(io::read_text_file(path, "the captions file"));
  std::vector<std::string> captions;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) captions.push_back(line);
  }
  return captions;
}

} // namespace t2i::text
