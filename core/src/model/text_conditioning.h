// Turns a TextCondition (encoder output, padding mask, CFG drop flags) into what the U-Net reads:
// LayerNorm-ed text tokens for cross-attention and a pooled text vector for the time embedding
// (Saharia 2022 §2.3: "pooled embedding vector, added to the diffusion timestep embedding";
// LayerNorm on the text embeddings "helps considerably").
#pragma once

#include "common/denoiser.h"

#include <torch/torch.h>

namespace t2i::model {

struct TextContext {
  torch::Tensor tokens;  ///< [B, L, cond_dim], zero at padding
  torch::Tensor mask;    ///< [B, L] bool, at least one true per sample
  torch::Tensor pooled;  ///< [B, time_dim]: to be added to the time embedding
};

class TextConditioningImpl : public torch::nn::Module {
public:
  TextConditioningImpl(int64_t text_embed_dim, int64_t cond_dim, int64_t time_dim);

  /// A sample whose text is dropped, or whose mask has no real token, reads the learned null text
  /// instead. `batch` is used when the condition carries no embeddings at all.
  TextContext forward(const TextCondition& text, int64_t batch, const torch::Device& device);

private:
  int64_t text_embed_dim_;
  torch::nn::Linear project_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
  torch::nn::Linear pooled_fc1_{nullptr}, pooled_fc2_{nullptr};
  torch::Tensor null_text_;  ///< [cond_dim]: the learned null text, one token before the LayerNorm
};
TORCH_MODULE(TextConditioning);

} // namespace t2i::model
