// GroupNorm that returns the dtype of its input, optionally followed in the same pass by the time
// embedding's scale-and-shift and SiLU. Under CPU bf16 autocast, LibTorch 1.13 passes bf16
// activations to group_norm unchanged; its CPU kernel for them is inaccurate (see forward), so on
// the CPU a reduced-precision input is normalised in float32 with the fp32 master weights, and
// what follows the norm runs on those float32 values before one rounding back.
// Elsewhere the (few) parameters are cast to the input's dtype.
#pragma once

#include <torch/torch.h>

namespace t2i::model {

/// Groups for a width: the most up to 32 (Wu & He 2018) that divide `channels` and keep at least
/// 4 channels per group. With one channel per group the norm would cancel each channel's bias and
/// mean, which narrow levels (32 channels) cannot afford.
int64_t norm_groups(int64_t channels);

/// What a residual block applies straight after a norm: y ← y·(1 + scale) + shift with scale and
/// shift [B, C, 1, 1] (Nichol & Dhariwal 2021's "AdaGN"; both undefined for none), then SiLU.
struct NormFollowUp {
  torch::Tensor scale, shift;
  bool silu = false;
};

class GroupNormImpl : public torch::nn::Module {
public:
  explicit GroupNormImpl(int64_t channels);
  /// The norm, then `then`: the same values as applying them one after another, in x's dtype.
  torch::Tensor forward(const torch::Tensor& x, const NormFollowUp& then = {});

private:
  int64_t groups_;
  torch::Tensor weight_, bias_;
};
TORCH_MODULE(GroupNorm);

} // namespace t2i::model
