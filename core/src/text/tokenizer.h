// SentencePiece tokenization with T5's conventions (design.md §5): the pieces' ids, then
// </s> = 1; padding with 0; truncation keeps </s>; the attention mask marks real tokens.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace t2i::text {

constexpr std::int64_t kPadId = 0;  ///< T5: padding (never a piece)
constexpr std::int64_t kEosId = 1;  ///< T5: </s>, appended to every text
constexpr std::int64_t kUnkId = 2;  ///< T5: <unk>; also what bytes of invalid UTF-8 become

enum class Padding {
  Longest,    ///< pad to the longest text of the batch
  MaxLength,  ///< pad every batch to max_len (fixed shapes)
};

/// Token ids of a batch of texts.
struct TokenBatch {
  torch::Tensor ids;            ///< [B, L] int64, padded with kPadId
  torch::Tensor mask;           ///< [B, L] bool, true at real tokens (including </s>)
  std::int64_t truncated = 0;   ///< texts that were cut to fit max_len
};

/// One text's ids.
struct TokenIds {
  std::vector<std::int64_t> ids;  ///< pieces then </s>
  bool truncated = false;         ///< the text had more than max_len - 1 pieces
  bool invalid_utf8 = false;      ///< the text was not valid UTF-8; its bad bytes became <unk>
};

/// A loaded SentencePiece model. Encoding is const and thread-safe.
class Tokenizer {
public:
  /// Loads a `spiece.model` file; throws std::runtime_error naming the file if it is not one.
  static Tokenizer from_file(const std::string& path);
  /// Loads a serialized model (e.g. stored in a checkpoint); `origin` names it in errors.
  static Tokenizer from_bytes(std::string model, const std::string& origin);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  /// The ids of one text, truncated to at most `max_len` tokens with </s> kept last.
  /// Any byte string is accepted: an empty text gives {</s>}.
  TokenIds encode(std::string_view text, std::int64_t max_len) const;

  /// The ids and mask of a batch; one warning per batch names how many texts were truncated
  /// or were not valid UTF-8.
  TokenBatch batch(const std::vector<std::string>& texts, std::int64_t max_len, Padding padding) const;

  /// The text of ids (padding, </s> and ids outside the vocabulary are skipped).
  std::string decode(const std::vector<std::int64_t>& ids) const;
  std::string piece(std::int64_t id) const;   ///< the piece of an id ("</s>", "▁cat", …)
  std::int64_t vocab_size() const;            ///< number of pieces (T5: 32000)
  const std::string& model_bytes() const;     ///< the serialized model, to store in a checkpoint
  const std::string& fingerprint() const;     ///< content hash of the model, for cache keys
  const std::string& origin() const;          ///< file or description it came from

private:
  Tokenizer();
  struct State;
  std::unique_ptr<State> state_;
};

/// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool is_valid_utf8(std::string_view text);

} // namespace t2i::text
