// A window into the U-Net's cross-attention while it samples: which text positions each pixel of
// a feature map attends to. Off unless a sampler's caller sets one; a layer without an observer
// computes nothing extra.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace t2i::model {

class AttentionObserver {
public:
  virtual ~AttentionObserver() = default;
  /// One cross-attention layer's attention probabilities during a forward pass without gradients:
  /// [B, heads, height·width, 1 + L] float32, pixels row-major, keys the null key/value first and
  /// then the L text positions; every row sums to 1 and masked positions hold 0. `layer` is the
  /// same object at every pass, so the layers' order of appearance in a pass is their order.
  virtual void cross_attention(const void* layer, std::int64_t height, std::int64_t width,
                               const torch::Tensor& probabilities) = 0;
  /// The probabilities the layer uses, asked before cross_attention (which then sees them):
  /// `probabilities` themselves [B, heads, height·width, 1 + L] in the layer's dtype, or a
  /// tensor of that shape and dtype to use instead (Prompt-to-Prompt's attention injection).
  virtual torch::Tensor replace(const void* layer, const torch::Tensor& probabilities) {
    (void)layer;
    return probabilities;
  }
};

} // namespace t2i::model
