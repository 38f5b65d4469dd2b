// The one interface the trainer and the sampler see, whichever encoder is behind it (frozen T5
// or the learned encoder): texts in, a TextCondition out (design.md §5).
#pragma once

#include "common/denoiser.h"
#include "text/tokenizer.h"

#include <cstdint>
#include <string>
#include <vector>

namespace t2i::text {

class TextEncoder {
public:
  virtual ~TextEncoder() = default;

  /// Tokenizes `texts` (at most `max_len` tokens each, </s> included) and encodes them:
  /// embeddings [B, L, width()] float32, mask [B, L], drop [B] (see make_condition).
  virtual TextCondition encode(const std::vector<std::string>& texts, std::int64_t max_len,
                               Padding padding = Padding::Longest) = 0;

  /// Encodes already tokenized ids [B, L] with their mask [B, L].
  virtual TextCondition encode_ids(const torch::Tensor& ids, const torch::Tensor& mask) = 0;

  virtual std::int64_t width() const = 0;            ///< D of the embeddings
  virtual std::string identity() const = 0;          ///< names the exact encoder (cache key)
  virtual bool trainable() const = 0;                ///< true: outputs change as it trains; never cache them
  virtual const Tokenizer& tokenizer() const = 0;
};

/// The output contract shared by every encoder. Padding positions are zeroed, so consumers that
/// pool without the mask see no padding garbage and cached and fresh encodings agree everywhere.
/// drop marks texts that carry no token besides </s> (an empty prompt): the denoiser then uses
/// its learned null text, exactly as for classifier-free guidance's unconditional half.
inline TextCondition make_condition(const torch::Tensor& embeddings, const torch::Tensor& mask) {
  TextCondition out;
  out.mask = mask.to(torch::kBool);
  out.embeddings = embeddings.to(torch::kFloat32) * out.mask.unsqueeze(-1).to(torch::kFloat32);
  out.drop = out.mask.sum(1) <= 1;
  return out;
}

} // namespace t2i::text
