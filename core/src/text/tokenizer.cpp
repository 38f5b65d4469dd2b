#include "text/tokenizer.h"

#include "io/hash.h"
#include "io/text_file.h"
#include "t2i/log.h"

#include "text/sentencepiece_api.h"

#include <atomic>
#include <stdexcept>

namespace t2i::text {

struct Tokenizer::State {
  const SentencePieceApi& api = sentencepiece_api();
  void* processor = nullptr;
  std::string model;
  std::string fingerprint;
  std::string origin;
  /// Texts truncated so far: training tokenizes every batch, so the warning is repeated only when
  /// this count reaches the next power of ten, not for every batch.
  std::atomic<std::int64_t> truncated{0};

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() {
    if (processor != nullptr) api.release(processor);
  }
};

Tokenizer::Tokenizer() : state_(std::make_unique<State>()) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_file(const std::string& path) {
  return from_bytes(io::read_text_file(path, "the SentencePiece model"), path);
}

Tokenizer Tokenizer::from_bytes(std::string model, const std::string& origin) {
  Tokenizer tokenizer;
  State& s = *tokenizer.state_;
  std::string error;
  s.processor = s.api.load(model, &error);
  if (s.processor == nullptr) throw std::runtime_error(origin + ": not a SentencePiece model (" + error + ")");
  int pad = -1, eos = -1, unk = -1;
  s.api.special_ids(s.processor, &pad, &eos, &unk);
  if (s.api.piece_size(s.processor) <= kUnkId || pad != kPadId || eos != kEosId || unk != kUnkId)
    throw std::runtime_error(origin + ": SentencePiece model without T5's special ids (pad 0, </s> 1, <unk> 2): pad " +
                             std::to_string(pad) + ", </s> " + std::to_string(eos) + ", <unk> " + std::to_string(unk));
  s.fingerprint = io::Hash64(io::HashScheme::xxhash_rounds).text(model).hex();
  s.model = std::move(model);
  s.origin = origin;
  return tokenizer;
}

TokenIds Tokenizer::encode(std::string_view text, std::int64_t max_len) const {
  if (max_len < 1) throw std::invalid_argument("tokenizer: max_len must be at least 1 (room for </s>), got " +
                                               std::to_string(max_len));
  TokenIds out;
  out.invalid_utf8 = !is_valid_utf8(text);
  // SentencePiece maps bytes that are not UTF-8 to <unk> itself; it never fails on them.
  std::vector<int> pieces;
  std::string error;
  if (!state_->api.encode(state_->processor, text, &pieces, &error))
    throw std::runtime_error(state_->origin + ": cannot tokenize a text (" + error + ")");
  const auto keep = static_cast<std::size_t>(max_len - 1);
  out.truncated = pieces.size() > keep;
  if (out.truncated) pieces.resize(keep);
  out.ids.assign(pieces.begin(), pieces.end());
  out.ids.push_back(kEosId);
  return out;
}

TokenBatch Tokenizer::batch(const std::vector<std::string>& texts, std::int64_t max_len, Padding padding) const {
  std::vector<TokenIds> encoded;
  encoded.reserve(texts.size());
  std::int64_t longest = 1;
  std::int64_t invalid = 0;
  TokenBatch out;
  for (const std::string& text : texts) {
    encoded.push_back(encode(text, max_len));
    longest = std::max<std::int64_t>(longest, static_cast<std::int64_t>(encoded.back().ids.size()));
    out.truncated += encoded.back().truncated ? 1 : 0;
    invalid += encoded.back().invalid_utf8 ? 1 : 0;
  }
  const std::int64_t length = padding == Padding::MaxLength ? max_len : longest;
  const auto batch = static_cast<std::int64_t>(texts.size());
  out.ids = torch::full({batch, length}, kPadId, torch::kInt64);
  out.mask = torch::zeros({batch, length}, torch::kBool);
  auto ids = out.ids.accessor<std::int64_t, 2>();
  auto mask = out.mask.accessor<bool, 2>();
  for (std::int64_t b = 0; b < batch; ++b) {
    const auto& row = encoded[static_cast<std::size_t>(b)].ids;
    for (std::size_t i = 0; i < row.size(); ++i) {
      ids[b][static_cast<std::int64_t>(i)] = row[i];
      mask[b][static_cast<std::int64_t>(i)] = true;
    }
  }
  if (out.truncated > 0) {
    const std::int64_t before = state_->truncated.fetch_add(out.truncated);
    const std::int64_t after = before + out.truncated;
    std::int64_t power = 1;
    while (power * 10 <= after) power *= 10;
    if (before < power)
      log::core()->warn("{} of {} texts were longer than {} tokens and were truncated (</s> kept); {} so far with {}",
                        out.truncated, batch, max_len, after, state_->origin);
  }
  if (invalid > 0)
    log::core()->warn("{} of {} texts were not valid UTF-8; their invalid bytes became <unk>", invalid, batch);
  return out;
}

std::string Tokenizer::decode(const std::vector<std::int64_t>& ids) const {
  std::vector<int> pieces;
  for (const std::int64_t id : ids)
    if (id != kPadId && id != kEosId && id >= 0 && id < vocab_size()) pieces.push_back(static_cast<int>(id));
  std::string text, error;
  if (!state_->api.decode(state_->processor, pieces, &text, &error))
    throw std::runtime_error(state_->origin + ": cannot decode ids (" + error + ")");
  return text;
}

std::string Tokenizer::piece(std::int64_t id) const {
  if (id < 0 || id >= vocab_size()) return "<id " + std::to_string(id) + " outside the vocabulary>";
  return state_->api.id_to_piece(state_->processor, static_cast<int>(id));
}

std::int64_t Tokenizer::vocab_size() const { return state_->api.piece_size(state_->processor); }
const std::string& Tokenizer::model_bytes() const { return state_->model; }
const std::string& Tokenizer::fingerprint() const { return state_->fingerprint; }
const std::string& Tokenizer::origin() const { return state_->origin; }

bool is_valid_utf8(std::string_view text) {
  // RFC 3629 table 3-7: the well-formed byte sequences.
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  auto in = [&](std::size_t k, unsigned lo, unsigned hi) { return i + k < n && p[i + k] >= lo && p[i + k] <= hi; };
  while (i < n) {
    const unsigned c = p[i];
    std::size_t len = 0;
    if (c < 0x80) len = 1;
    else if (c >= 0xC2 && c <= 0xDF) len = in(1, 0x80, 0xBF) ? 2 : 0;
    else if (c == 0xE0) len = in(1, 0xA0, 0xBF) && in(2, 0x80, 0xBF) ? 3 : 0;
    else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) len = in(1, 0x80, 0xBF) && in(2, 0x80, 0xBF) ? 3 : 0;
    else if (c == 0xED) len = in(1, 0x80, 0x9F) && in(2, 0x80, 0xBF) ? 3 : 0;
    else if (c == 0xF0) len = in(1, 0x90, 0xBF) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
    else if (c >= 0xF1 && c <= 0xF3) len = in(1, 0x80, 0xBF) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
    else if (c == 0xF4) len = in(1, 0x80, 0x8F) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
    if (len == 0) return false;
    i += len;
  }
  return true;
}

} // namespace t2i::text
