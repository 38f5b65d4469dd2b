// Imagen's base text-to-image U-Net (Saharia 2022 §2.3 and Appendix B; the residual/attention
// layout of Nichol & Dhariwal 2021), as a t2i::Denoiser.
#pragma once

#include "common/denoiser.h"
#include "model/blocks.h"
#include "model/text_conditioning.h"
#include "model/time_embedding.h"
#include "model/unet_config.h"

#include <torch/torch.h>

#include <vector>

namespace t2i::model {

class UNetImpl : public torch::nn::Module {
public:
  explicit UNetImpl(UNetConfig config);

  /// x_t [B, C, H, W] (H and W divisible by 2 per downsampling), t [B] in [0, 1], the text.
  /// Returns the prediction [B, C, H, W] in x_t's dtype, contiguous, whatever the execution options.
  torch::Tensor forward(const torch::Tensor& x_t, const torch::Tensor& t, const TextCondition& text);

  const UNetConfig& config() const { return config_; }
  const ExecutionOptions& execution() const { return config_.execution; }
  /// Switches precision, memory layout, checkpointing or attention kernel; the weights stay.
  void set_execution(const ExecutionOptions& execution);

  int64_t parameter_count() const;

private:
  torch::Tensor run(const LevelBlock& block, const torch::Tensor& x, const BlockConditioning& cond) const;

  UNetConfig config_;
  TimeEmbedding time_{nullptr};
  TextConditioning text_{nullptr};
  torch::nn::Conv2d init_conv_{nullptr};
  std::vector<std::vector<LevelBlock>> down_, up_;  ///< [level][block]
  std::vector<Downsample> downsample_;              ///< one per level that has one
  std::vector<Upsample> upsample_;
  LevelBlock middle1_{nullptr}, middle2_{nullptr};
  LevelBlock final_block_{nullptr};
  GroupNorm out_norm_{nullptr};
  torch::nn::Conv2d out_conv_{nullptr};
};
TORCH_MODULE(UNet);

/// The network as the diffusion engine's Denoiser.
Denoiser as_denoiser(UNet unet);

} // namespace t2i::model
