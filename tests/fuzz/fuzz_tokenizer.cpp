// The SentencePiece tokenizer (T5's spiece.model) on arbitrary bytes, as a prompt reaches it:
// one text, and a batch as training and sampling tokenize them. Any byte string is a text, so
// beyond the no-crash rule every input must keep the tokenizer's promises (tokenizer.h).
#include "fuzz_support.h"
#include "text/tokenizer.h"

#include <cstdio>

namespace {

using t2i::text::Tokenizer;

constexpr std::int64_t kMaxLen = 64;  // tokens per caption in the text cache, </s> included

// Found by scripts/fuzz.sh, which skips this target when the shared data lacks the model.
const Tokenizer& tokenizer() {
  static const Tokenizer loaded = Tokenizer::from_file(T2I_FUZZ_SPIECE_MODEL);
  return loaded;
}

void require(bool condition, const char* promise) {
  if (condition) return;
  std::fprintf(stderr, "tokenizer broke its promise: %s\n", promise);
  std::abort();
}

// UTF-8 by decoding code points (not by byte ranges, as is_valid_utf8 checks): a lead byte gives
// the length, continuations carry 6 bits each, and the code point must need that length and be
// a scalar value (not a surrogate, at most U+10FFFF).
bool decodes_as_utf8(const std::string& text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const int length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
    if (length == 0 || i + static_cast<std::size_t>(length) > text.size()) return false;
    std::uint32_t code = length == 1 ? lead : lead & (0x7Fu >> length);
    for (int k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + static_cast<std::size_t>(k)]);
      if ((next >> 6) != 0x2) return false;
      code = (code << 6) | (next & 0x3Fu);
    }
    const std::uint32_t shortest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < shortest[length] || (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF) return false;
    i += static_cast<std::size_t>(length);
  }
  return true;
}

void check_one(const std::string& text) {
  const t2i::text::TokenIds encoded = tokenizer().encode(text, kMaxLen);
  const auto& ids = encoded.ids;
  require(!ids.empty() && ids.size() <= static_cast<std::size_t>(kMaxLen), "between 1 and max_len ids");
  require(ids.back() == t2i::text::kEosId, "</s> last");
  for (std::size_t i = 0; i + 1 < ids.size(); ++i)
    require(ids[i] > t2i::text::kEosId && ids[i] < tokenizer().vocab_size(), "pieces inside the vocabulary, never pad or </s>");
  require(encoded.invalid_utf8 == !decodes_as_utf8(text), "invalid_utf8 says whether the text is UTF-8");
  (void)tokenizer().decode(ids);
}

void check_batch(const std::string& text) {
  const std::vector<std::string> texts{text, text.substr(text.size() / 2)};
  const t2i::text::TokenBatch batch = tokenizer().batch(texts, kMaxLen, t2i::text::Padding::Longest);
  for (std::size_t b = 0; b < texts.size(); ++b) {
    const auto real = batch.mask[static_cast<std::int64_t>(b)].sum().item<std::int64_t>();
    require(real == static_cast<std::int64_t>(tokenizer().encode(texts[b], kMaxLen).ids.size()),
            "the batch mask marks exactly the text's own ids");
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    check_one(text);
    check_batch(text);
  } catch (const std::exception&) {
  }
  return 0;
}
