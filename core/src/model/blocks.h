// The U-Net's building blocks: residual blocks conditioned on the time embedding, and the
// resolution changes between levels (Nichol & Dhariwal 2021; Saharia 2022, Appendix B).
#pragma once

#include "model/attention.h"

#include <torch/torch.h>

namespace t2i::model {

/// GroupNorm → SiLU → 3×3 conv, then GroupNorm with the time embedding as scale-and-shift →
/// SiLU → dropout → 3×3 conv, plus the input (through a 1×1 conv when the widths differ).
/// Every block is conditioned: conditioning only some of them causes colour shifts.
class ResBlockImpl : public torch::nn::Module {
public:
  ResBlockImpl(int64_t in_channels, int64_t out_channels, int64_t time_dim, double dropout);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& time_emb);

private:
  GroupNorm norm1_{nullptr}, norm2_{nullptr};
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, skip_{nullptr};
  torch::nn::Linear time_proj_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(ResBlock);

/// What every block of the U-Net reads besides its input feature map.
struct BlockConditioning {
  torch::Tensor time_emb;     ///< [B, time_dim]: time plus pooled text
  torch::Tensor text_tokens;  ///< [B, L, cond_dim]
  torch::Tensor text_mask;    ///< [B, L] bool
  AttentionBackend attention = AttentionBackend::automatic;
  TextCache* text_cache = nullptr;  ///< the sampling run's text keys and values, or none
  AttentionObserver* attention_observer = nullptr;  ///< sees the cross-attention while sampling, or none
};

/// One step of a level: a residual block, then self- and/or cross-attention where the level has
/// them. The unit of activation checkpointing.
class LevelBlockImpl : public torch::nn::Module {
public:
  LevelBlockImpl(int64_t in_channels, int64_t out_channels, const UNetConfig& config, bool self_attention,
                 bool cross_attention);
  torch::Tensor forward(const torch::Tensor& x, const BlockConditioning& cond);
  bool reads_text() const { return !cross_attn_.is_empty(); }

private:
  ResBlock res_{nullptr};
  SelfAttention self_attn_{nullptr};
  CrossAttention cross_attn_{nullptr};
};
TORCH_MODULE(LevelBlock);

/// Halves the resolution with a strided 3×3 conv.
class DownsampleImpl : public torch::nn::Module {
public:
  DownsampleImpl(int64_t in_channels, int64_t out_channels);
  torch::Tensor forward(const torch::Tensor& x);

private:
  torch::nn::Conv2d conv_{nullptr};
};
TORCH_MODULE(Downsample);

/// Doubles the resolution: nearest-neighbour, then a 3×3 conv (no checkerboard artefacts).
class UpsampleImpl : public torch::nn::Module {
public:
  UpsampleImpl(int64_t in_channels, int64_t out_channels);
  torch::Tensor forward(const torch::Tensor& x);

private:
  torch::nn::Conv2d conv_{nullptr};
};
TORCH_MODULE(Upsample);

} // namespace t2i::model
