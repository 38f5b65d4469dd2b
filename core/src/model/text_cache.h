// The text's share of a U-Net forward pass, kept for one sampling run. A sampler calls the network
// step after step with the same prompts and the same weights, so the text conditioning's output
// and every cross-attention's keys and values come out the same each time: computed at the first
// step, read at the others.
#pragma once

#include "common/denoiser.h"
#include "model/text_conditioning.h"

#include <torch/torch.h>

#include <functional>
#include <map>
#include <optional>

namespace t2i::model {

/// What a cross-attention layer attends to: keys and values [B, heads, 1 + L, d] with its null
/// key/value first, and the key mask [B, 1 + L] bool.
struct KeysValues {
  torch::Tensor k, v, key_mask;
};

/// Valid while the weights do not change (one sampling run); used only without gradients.
class TextCache {
public:
  /// Keeps what was cached when `text` has the contents of the cached text; otherwise forgets it
  /// all and caches for `text` from now on.
  void use(const TextCondition& text);
  /// The text conditioning's output for the current text: `compute`'s, at the first call.
  const TextContext& context(const std::function<TextContext()>& compute);
  /// A cross-attention layer's keys and values for the current text: `compute`'s, at the first
  /// call for that layer.
  const KeysValues& keys_values(const void* layer, const std::function<KeysValues()>& compute);
  /// How many times keys and values were computed since the cache was made (each layer once per text).
  std::int64_t kv_projections() const { return kv_projections_; }

private:
  TextCondition text_;
  std::optional<TextContext> context_;
  std::map<const void*, KeysValues> keys_values_;
  std::int64_t kv_projections_ = 0;
};

} // namespace t2i::model
