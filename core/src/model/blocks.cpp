#include "model/blocks.h"

#include "model/activation.h"

namespace t2i::model {
namespace {

torch::nn::Conv2d conv3x3(int64_t in_channels, int64_t out_channels, int64_t stride = 1) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, out_channels, 3).stride(stride).padding(1));
}

} // namespace

ResBlockImpl::ResBlockImpl(int64_t in_channels, int64_t out_channels, int64_t time_dim, double dropout) {
  norm1_ = register_module("norm1", GroupNorm(in_channels));
  conv1_ = register_module("conv1", conv3x3(in_channels, out_channels));
  time_proj_ = register_module("time_proj", torch::nn::Linear(time_dim, 2 * out_channels));
  norm2_ = register_module("norm2", GroupNorm(out_channels));
  dropout_ = register_module("dropout", torch::nn::Dropout(dropout));
  conv2_ = register_module("conv2", conv3x3(out_channels, out_channels));
  if (in_channels != out_channels)
    skip_ = register_module("skip", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, out_channels, 1)));
}

torch::Tensor ResBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& time_emb) {
  auto h = conv1_(norm1_(x, NormFollowUp{{}, {}, /*silu=*/true}));
  // Scale-and-shift from the time embedding (Nichol & Dhariwal 2021, "AdaGN").
  const auto scale_shift = time_proj_(model::silu(time_emb)).unsqueeze(-1).unsqueeze(-1).chunk(2, 1);
  h = conv2_(dropout_(norm2_(h, NormFollowUp{scale_shift[0], scale_shift[1], /*silu=*/true})));
  return h + (skip_.is_empty() ? x : skip_(x));
}

LevelBlockImpl::LevelBlockImpl(int64_t in_channels, int64_t out_channels, const UNetConfig& config,
                               bool self_attention, bool cross_attention) {
  res_ = register_module("res", ResBlock(in_channels, out_channels, config.time_dim(), config.dropout));
  if (self_attention)
    self_attn_ = register_module("self_attn", SelfAttention(out_channels, config.heads, config.head_dim));
  if (cross_attention)
    cross_attn_ = register_module("cross_attn",
                                  CrossAttention(out_channels, config.cond_dim, config.heads, config.head_dim));
}

torch::Tensor LevelBlockImpl::forward(const torch::Tensor& x, const BlockConditioning& cond) {
  auto h = res_(x, cond.time_emb);
  if (!self_attn_.is_empty()) h = self_attn_(h, cond.attention);
  if (!cross_attn_.is_empty()) h = cross_attn_(h, cond.text_tokens, cond.text_mask, cond.attention, cond.text_cache, cond.attention_observer);
  return h;
}

DownsampleImpl::DownsampleImpl(int64_t in_channels, int64_t out_channels) {
  conv_ = register_module("conv", conv3x3(in_channels, out_channels, 2));
}

torch::Tensor DownsampleImpl::forward(const torch::Tensor& x) { return conv_(x); }

UpsampleImpl::UpsampleImpl(int64_t in_channels, int64_t out_channels) {
  conv_ = register_module("conv", conv3x3(in_channels, out_channels));
}

torch::Tensor UpsampleImpl::forward(const torch::Tensor& x) {
  return conv_(torch::upsample_nearest2d(x, std::vector<int64_t>{2 * x.size(2), 2 * x.size(3)}));
}

} // namespace t2i::model
