// Multi-head attention over feature-map pixels: self-attention among the pixels, and
// cross-attention from the pixels to the text tokens (Saharia 2022, §2.3).
#pragma once

#include "model/attention_observer.h"
#include "model/group_norm.h"
#include "model/text_cache.h"
#include "model/unet_config.h"

#include <torch/torch.h>

namespace t2i::model {

/// softmax(q kᵀ / √d) v for q [B, H, Lq, d], k and v [B, H, Lk, d]; key_mask [B, Lk] bool (true =
/// attend) or undefined. Every query must have at least one key left. Returns [B, H, Lq, d].
/// With `probabilities` and without gradients, the weights [B, H, Lq, Lk] go there too (always
/// computed explicitly then).
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask, AttentionBackend backend,
                        torch::Tensor* probabilities = nullptr);

/// True when this LibTorch has scaled_dot_product_attention (2.0 and later).
bool sdpa_available();

/// x + Attention(GroupNorm(x)) among the H·W pixels of x [B, C, H, W].
class SelfAttentionImpl : public torch::nn::Module {
public:
  SelfAttentionImpl(int64_t channels, int64_t heads, int64_t head_dim);
  torch::Tensor forward(const torch::Tensor& x, AttentionBackend backend);

private:
  int64_t heads_, head_dim_;
  GroupNorm norm_{nullptr};
  torch::nn::Linear to_qkv_{nullptr}, to_out_{nullptr};
};
TORCH_MODULE(SelfAttention);

/// x + Attention(queries from GroupNorm(x), keys/values from the text tokens), with a learned
/// null key/value always present so that a pixel may attend to "no word" (Imagen's code).
class CrossAttentionImpl : public torch::nn::Module {
public:
  CrossAttentionImpl(int64_t channels, int64_t cond_dim, int64_t heads, int64_t head_dim);
  /// tokens [B, L, cond_dim], mask [B, L] bool (true at real tokens). With a cache, the keys and
  /// values come from it (computed there once per text). An observer sees the attention
  /// probabilities (sampling only: without gradients).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& tokens, const torch::Tensor& mask,
                        AttentionBackend backend, TextCache* cache = nullptr, AttentionObserver* observer = nullptr);

private:
  KeysValues keys_values(const torch::Tensor& tokens, const torch::Tensor& mask);

  int64_t heads_, head_dim_;
  GroupNorm norm_{nullptr};
  torch::nn::Linear to_q_{nullptr}, to_kv_{nullptr}, to_out_{nullptr};
  torch::Tensor null_kv_;  ///< [2, heads, head_dim]
};
TORCH_MODULE(CrossAttention);

} // namespace t2i::model
