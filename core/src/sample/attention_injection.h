// Prompt-to-Prompt's cross-attention injection (Hertz et al. 2022, §3.2, "cross_replace_steps"):
// the conditional cross-attention probabilities of one generation, stored per (step, layer), used
// in place of another generation's own for its first steps. Both generations run on the same
// U-Net (its layers are the keys) with the same number of images and text positions.
#pragma once

#include "model/attention_observer.h"

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <vector>

namespace t2i::sample {

class AttentionInjection : public model::AttentionObserver {
public:
  /// Stores the conditional probabilities of the next generation, of `images` images.
  explicit AttentionInjection(std::int64_t images);

  /// From now on injects what was stored into the next generation, for its first `steps` steps.
  void inject_first(int steps);
  /// Who sees every layer's probabilities as used (an attention recorder), or nobody.
  void pass_to(model::AttentionObserver* inner) { inner_ = inner; }

  torch::Tensor replace(const void* layer, const torch::Tensor& probabilities) override;
  void cross_attention(const void* layer, std::int64_t height, std::int64_t width,
                       const torch::Tensor& probabilities) override;
  /// Closes a sampling step.
  void end_step();

private:
  std::int64_t images_;
  model::AttentionObserver* inner_ = nullptr;
  bool injecting_ = false;
  int inject_steps_ = 0;
  int step_ = 0;
  std::map<const void*, int> passes_;  ///< each layer's passes in the open step
  /// [step][layer]: the first pass's conditional rows [images, heads, pixels, 1 + L], the layer's dtype.
  std::vector<std::map<const void*, torch::Tensor>> stored_;
};

} // namespace t2i::sample
