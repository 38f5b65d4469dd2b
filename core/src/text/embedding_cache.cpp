#include "text/embedding_cache.h"

#include "io/atomic_file.h"
#include "io/format_version.h"
#include "io/text_file.h"
#include "t2i/log.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <unordered_set>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the cache format is little-endian");

namespace t2i::text {
namespace {

namespace fs = std::filesystem;
constexpr const char* kStage = "text embeddings";  ///< what build_embedding_cache counts

constexpr const char* kFormat = "t2i-text-embedding-cache";
constexpr double kHalfMax = 65504.0;  // the largest finite float16

std::string index_path(const std::string& path) { return path + ".index"; }

// 1.1 added only the version fields; it still writes 1.0's "version": 1, so t2i-studio 0.1.0
// reads these caches too.
const io::JsonFormat& index_format() {
  static const io::JsonFormat format{"text-embedding cache", {1, 1}, {}};
  return format;
}

std::uint64_t align8(std::uint64_t n) { return (n + 7) & ~std::uint64_t{7}; }

struct Index {
  std::string encoder;
  std::int64_t max_len = 0;
  std::int64_t width = 0;
  std::int64_t entries = 0;
  std::uint64_t data_bytes = 0;
};

Index read_index(const std::string& path) {
  const std::string file = index_path(path);
  auto json = nlohmann::json::parse(io::read_text_file(file, "the embedding cache's index"), nullptr, false);
  if (json.is_discarded() || !json.is_object() || json.value("format", std::string()) != kFormat)
    throw std::runtime_error(file + ": not an embedding cache index");
  io::upgrade_document(index_format(), json, file);  // a newer version throws; the builder then rebuilds
  try {
    if (json.at("dtype").get<std::string>() != "float16") throw std::runtime_error("dtype is not float16");
    Index index;
    index.encoder = json.at("encoder").get<std::string>();
    index.max_len = json.at("max_len").get<std::int64_t>();
    index.width = json.at("width").get<std::int64_t>();
    index.entries = json.at("entries").get<std::int64_t>();
    index.data_bytes = json.at("data_bytes").get<std::uint64_t>();
    if (index.max_len < 1 || index.width < 1 || index.entries < 0)
      throw std::runtime_error("max_len, width or entries out of range");
    return index;
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(file + ": malformed embedding cache index (" + e.what() + ")");
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(file + ": " + e.what());
  }
}

void write_index(const std::string& path, const Index& index) {
  nlohmann::json json{{"format", kFormat},           {"version", 1},     {"encoder", index.encoder},
                      {"max_len", index.max_len},     {"width", index.width}, {"dtype", "float16"},
                      {"entries", index.entries},     {"data_bytes", index.data_bytes}};
  io::stamp_document(index_format(), json);
  io::write_file_atomically(index_path(path), json.dump(1) + "\n");
}

[[noreturn]] void fail_errno(const std::string& path, const std::string& action) {
  throw std::runtime_error(path + ": cannot " + action + ": " + std::strerror(errno));
}

// The data file, opened for appending by one builder at a time.
class DataWriter {
public:
  DataWriter(const std::string& path, std::uint64_t keep_bytes) : path_(path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) fail_errno(path, "open the embedding cache for writing");
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      throw std::runtime_error(path + ": the embedding cache is being built by another process");
    }
    // Bytes past the index's count belong to a batch that never completed.
    if (::ftruncate(fd_, static_cast<off_t>(keep_bytes)) != 0 || ::lseek(fd_, 0, SEEK_END) < 0) {
      ::close(fd_);
      fail_errno(path, "truncate the embedding cache to its last complete batch");
    }
  }
  ~DataWriter() { ::close(fd_); }
  DataWriter(const DataWriter&) = delete;
  DataWriter& operator=(const DataWriter&) = delete;

  void append(const std::string& bytes) {
    const char* p = bytes.data();
    std::size_t left = bytes.size();
    while (left > 0) {
      const ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        fail_errno(path_, "append to the embedding cache");
      }
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    if (::fsync(fd_) != 0) fail_errno(path_, "flush the embedding cache to disk");
  }

private:
  std::string path_;
  int fd_ = -1;
};

void append_record(std::string& out, const std::string& text, const torch::Tensor& half_values) {
  const auto text_bytes = static_cast<std::uint32_t>(text.size());
  const auto tokens = static_cast<std::uint32_t>(half_values.size(0));
  const std::size_t start = out.size();
  out.append(reinterpret_cast<const char*>(&text_bytes), 4);
  out.append(reinterpret_cast<const char*>(&tokens), 4);
  out.append(text);
  out.resize(start + align8(8 + text.size()), '\0');
  out.append(static_cast<const char*>(half_values.data_ptr()), static_cast<std::size_t>(half_values.nbytes()));
  out.resize(start + record_bytes(text.size(), half_values.size(0), half_values.size(1)), '\0');
}

std::string shortened(std::string_view text) {
  return text.size() <= 80 ? std::string(text) : std::string(text.substr(0, 77)) + "...";
}

} // namespace

std::uint64_t record_bytes(std::uint64_t text_bytes, std::int64_t tokens, std::int64_t width) {
  return align8(8 + text_bytes) + align8(static_cast<std::uint64_t>(tokens * width) * 2);
}

EmbeddingCache EmbeddingCache::open(const std::string& path) {
  const Index index = read_index(path);
  EmbeddingCache cache;
  cache.path_ = path;
  cache.encoder_ = index.encoder;
  cache.max_len_ = index.max_len;
  cache.width_ = index.width;
  cache.data_bytes_ = index.data_bytes;
  cache.file_ = io::MappedFile::open(path);
  if (cache.file_->size() < index.data_bytes)
    throw std::runtime_error(path + ": " + std::to_string(cache.file_->size()) + " bytes, but its index counts " +
                             std::to_string(index.data_bytes));
  const std::uint8_t* data = cache.file_->data();
  std::uint64_t position = 0;
  cache.entries_.reserve(static_cast<std::size_t>(index.entries));
  for (std::int64_t i = 0; i < index.entries; ++i) {
    auto corrupt = [&](const std::string& problem) {
      return std::runtime_error(path + ": record " + std::to_string(i) + " at byte " + std::to_string(position) + ": " +
                                problem);
    };
    if (index.data_bytes - position < 8) throw corrupt("truncated header");
    std::uint32_t text_bytes = 0, tokens = 0;
    std::memcpy(&text_bytes, data + position, 4);
    std::memcpy(&tokens, data + position + 4, 4);
    if (tokens < 1 || tokens > index.max_len) throw corrupt(std::to_string(tokens) + " tokens outside [1, max_len]");
    if (record_bytes(text_bytes, tokens, index.width) > index.data_bytes - position)
      throw corrupt("extends past the data the index counts");
    const std::string_view text(reinterpret_cast<const char*>(data + position + 8), text_bytes);
    const Entry entry{static_cast<std::size_t>(position + align8(8 + text_bytes)), tokens};
    if (!cache.entries_.emplace(text, entry).second) throw corrupt("duplicate caption \"" + shortened(text) + "\"");
    position += record_bytes(text_bytes, tokens, index.width);
  }
  if (position != index.data_bytes)
    throw std::runtime_error(path + ": its " + std::to_string(index.entries) + " records fill " +
                             std::to_string(position) + " bytes, but the index counts " + std::to_string(index.data_bytes));
  return cache;
}

double EmbeddingCache::mean_tokens() const {
  if (entries_.empty()) return 0;
  double total = 0;
  for (const auto& item : entries_) total += static_cast<double>(item.second.tokens);
  return total / static_cast<double>(entries_.size());
}

bool EmbeddingCache::matches(const std::string& identity, std::int64_t max_len) const {
  return encoder_ == identity && max_len_ == max_len;
}

torch::Tensor EmbeddingCache::embedding(std::string_view text) const {
  const auto found = entries_.find(text);
  if (found == entries_.end())
    throw std::runtime_error(path_ + ": caption not in the embedding cache: \"" + shortened(text) + "\"");
  std::shared_ptr<io::MappedFile> keep_alive = file_;
  return torch::from_blob(
      file_->data() + found->second.offset, {found->second.tokens, width_},
      [keep_alive](void*) mutable { keep_alive.reset(); }, torch::TensorOptions().dtype(torch::kFloat16));
}

TextCondition EmbeddingCache::lookup(const std::vector<std::string>& texts, Padding padding) const {
  std::vector<torch::Tensor> rows;
  rows.reserve(texts.size());
  std::int64_t longest = 1;
  for (const std::string& text : texts) {
    rows.push_back(embedding(text));
    longest = std::max(longest, rows.back().size(0));
  }
  const std::int64_t length = padding == Padding::MaxLength ? max_len_ : longest;
  const auto batch = static_cast<std::int64_t>(texts.size());
  auto embeddings = torch::zeros({batch, length, width_}, torch::kFloat32);
  auto mask = torch::zeros({batch, length}, torch::kBool);
  for (std::int64_t b = 0; b < batch; ++b) {
    const auto& row = rows[static_cast<std::size_t>(b)];
    embeddings[b].slice(0, 0, row.size(0)).copy_(row);
    mask[b].slice(0, 0, row.size(0)).fill_(true);
  }
  return make_condition(embeddings, mask);
}

CacheBuildStats build_embedding_cache(TextEncoder& encoder, const std::vector<std::string>& captions,
                                      const std::string& path, const CacheBuildSettings& settings,
                                      const job::Context& job) {
  if (encoder.trainable())
    throw std::invalid_argument(path + ": a trainable encoder's outputs change as it trains and cannot be cached");
  if (settings.max_len < 1 || settings.batch_size < 1)
    throw std::invalid_argument(path + ": max_len and batch_size must be at least 1");

  CacheBuildStats stats;
  stats.captions = static_cast<std::int64_t>(captions.size());
  std::vector<const std::string*> unique;
  {
    std::unordered_set<std::string_view> seen;
    for (const std::string& caption : captions)
      if (seen.insert(caption).second) unique.push_back(&caption);
  }
  stats.unique = static_cast<std::int64_t>(unique.size());

  Index index{encoder.identity(), settings.max_len, encoder.width(), 0, 0};
  bool fresh = true;
  std::vector<const std::string*> missing;
  if (fs::exists(index_path(path))) {
    try {
      const EmbeddingCache existing = EmbeddingCache::open(path);
      if (existing.matches(index.encoder, index.max_len) && existing.width() == index.width) {
        fresh = false;
        index.entries = existing.size();
        index.data_bytes = existing.data_bytes();
        for (const std::string* caption : unique)
          if (!existing.contains(*caption)) missing.push_back(caption);
      } else {
        log::core()->info("{}: built for another encoder or max_len; building it afresh", path);
      }
    } catch (const std::exception& e) {
      log::core()->warn("{}; building the embedding cache afresh", e.what());
    }
  }
  if (fresh) missing = unique;
  stats.reused = stats.unique - static_cast<std::int64_t>(missing.size());

  // Shortest first: batches of similar lengths waste little work on padding. The sort is stable,
  // so a resumed build forms exactly the batches an uninterrupted one would have.
  const Tokenizer& tokenizer = encoder.tokenizer();
  std::vector<std::pair<std::size_t, const std::string*>> pending;
  pending.reserve(missing.size());
  for (const std::string* caption : missing) pending.emplace_back(tokenizer.encode(*caption, settings.max_len).ids.size(), caption);
  std::stable_sort(pending.begin(), pending.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

  job.count(kStage, stats.reused, stats.unique);
  const bool untouched = !fresh && pending.empty() && fs::file_size(path) == index.data_bytes;
  if (untouched) {
    stats.bytes = index.data_bytes;
    return stats;
  }

  DataWriter writer(path, index.data_bytes);
  if (fresh) write_index(path, index);
  const auto batch_size = static_cast<std::size_t>(settings.batch_size);
  for (std::size_t start = 0; start < pending.size(); start += batch_size) {
    if (job.cancelled()) {
      stats.cancelled = true;
      break;
    }
    const std::size_t end = std::min(pending.size(), start + batch_size);
    std::vector<std::string> texts;
    for (std::size_t i = start; i < end; ++i) texts.push_back(*pending[i].second);
    const TextCondition condition = encoder.encode(texts, settings.max_len);
    const auto values = condition.embeddings.clamp(-kHalfMax, kHalfMax).to(torch::kFloat16).contiguous();
    const auto tokens = condition.mask.sum(1).to(torch::kInt64).contiguous();
    std::string records;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      const auto b = static_cast<std::int64_t>(i);
      append_record(records, texts[i], values[b].slice(0, 0, tokens[b].item<std::int64_t>()).contiguous());
    }
    writer.append(records);
    index.entries += static_cast<std::int64_t>(texts.size());
    index.data_bytes += records.size();
    write_index(path, index);
    stats.encoded += static_cast<std::int64_t>(texts.size());
    job.count(kStage, stats.reused + stats.encoded, stats.unique);
  }
  stats.bytes = index.data_bytes;
  return stats;
}

} // namespace t2i::text
