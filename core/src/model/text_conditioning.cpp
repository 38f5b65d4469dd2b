#include "model/text_conditioning.h"

#include <stdexcept>
#include <string>

namespace t2i::model {

TextConditioningImpl::TextConditioningImpl(int64_t text_embed_dim, int64_t cond_dim, int64_t time_dim)
    : text_embed_dim_(text_embed_dim) {
  project_ = register_module("project", torch::nn::Linear(text_embed_dim, cond_dim));
  norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({cond_dim})));
  pooled_fc1_ = register_module("pooled_fc1", torch::nn::Linear(cond_dim, time_dim));
  pooled_fc2_ = register_module("pooled_fc2", torch::nn::Linear(time_dim, time_dim));
  null_text_ = register_parameter("null_text", torch::randn({cond_dim}));
}

TextContext TextConditioningImpl::forward(const TextCondition& text, int64_t batch, const torch::Device& device) {
  const auto bool_options = torch::TensorOptions().dtype(torch::kBool).device(device);
  const auto drop = text.drop.defined() ? text.drop.to(device, torch::kBool) : torch::zeros({batch}, bool_options);
  if (drop.dim() != 1 || drop.size(0) != batch)
    throw std::runtime_error("text condition: drop must be [" + std::to_string(batch) + "] bool");

  torch::Tensor tokens, mask;
  if (text.embeddings.defined()) {
    const auto& e = text.embeddings;
    if (e.dim() != 3 || e.size(0) != batch || e.size(2) != text_embed_dim_)
      throw std::runtime_error("text condition: embeddings must be [" + std::to_string(batch) + ", L, " +
                               std::to_string(text_embed_dim_) + "], got " + c10::str(e.sizes()));
    const int64_t length = e.size(1);
    const auto real = text.mask.defined() ? text.mask.to(device, torch::kBool) : torch::ones({batch, length}, bool_options);
    if (real.sizes() != torch::IntArrayRef{batch, length})
      throw std::runtime_error("text condition: mask must be [" + std::to_string(batch) + ", " +
                               std::to_string(length) + "], got " + c10::str(real.sizes()));
    const auto keep = drop.logical_not().logical_and(real.any(1));
    // The null text sits at position 0 of a dropped sample; every other position is padding.
    const auto first = torch::arange(length, torch::TensorOptions().device(device)).eq(0).unsqueeze(0);
    mask = torch::where(keep.unsqueeze(1), real, first);
    const auto projected = project_(e.to(device)).masked_fill(real.logical_not().unsqueeze(-1), 0.0);
    const auto null_tokens = null_text_.to(projected.scalar_type()) * first.unsqueeze(-1);
    tokens = torch::where(keep.view({batch, 1, 1}), projected, null_tokens);
  } else {
    if (!drop.all().item<bool>())
      throw std::runtime_error("text condition: a sample that is not dropped needs embeddings");
    tokens = null_text_.view({1, 1, -1}).expand({batch, 1, null_text_.size(0)});
    mask = torch::ones({batch, 1}, bool_options);
  }

  // In fp32 whatever the autocast: a few small tokens, and LibTorch 1.13's CPU layer_norm rejects
  // bf16 inputs with fp32 parameters.
  tokens = norm_(tokens.to(torch::kFloat32)).masked_fill(mask.logical_not().unsqueeze(-1), 0.0);
  const auto weights = mask.to(tokens.scalar_type()).unsqueeze(-1);
  const auto pooled = (tokens * weights).sum(1) / weights.sum(1);  // masked mean over the real tokens
  return {tokens, mask, pooled_fc2_(torch::silu(pooled_fc1_(pooled)))};
}

} // namespace t2i::model
