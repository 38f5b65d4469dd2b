// Imagen's text-to-image U-Nets (Saharia 2022 §2.3–2.4 and Appendix B; the residual/attention
// layout of Nichol & Dhariwal 2021), base model or super-resolution stage, as a t2i::Denoiser.
#pragma once

#include "common/denoiser.h"
#include "model/blocks.h"
#include "model/low_res.h"
#include "model/text_cache.h"
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
  /// Without gradients, a text cache supplies the text's share of the pass (see TextCache) and an
  /// observer sees every cross-attention layer's probabilities.
  torch::Tensor forward(const torch::Tensor& x_t, const torch::Tensor& t, const TextCondition& text,
                        TextCache* text_cache = nullptr, AttentionObserver* attention_observer = nullptr);
  /// A super-resolution stage's pass: also the low-resolution image (upsampled to x_t's size and
  /// noise-augmented) and its augmentation level, which is embedded like t and added to the time
  /// embedding. A base network refuses a low-resolution input, a stage refuses to run without one.
  torch::Tensor forward(const torch::Tensor& x_t, const torch::Tensor& t, const TextCondition& text,
                        const LowResCondition& low_res, TextCache* text_cache = nullptr,
                        AttentionObserver* attention_observer = nullptr);

  const UNetConfig& config() const { return config_; }
  const ExecutionOptions& execution() const { return config_.execution; }
  /// Switches precision, memory layout, checkpointing or attention kernel; the weights stay.
  void set_execution(const ExecutionOptions& execution);
  /// Sets up a network that only samples from now on: no parameter needs a gradient, and under
  /// bf16 execution the convolutions' and linear layers' weights are stored in bf16, once. bf16
  /// autocast re-casts fp32 weights that need no gradient at every call, and finds these already in
  /// its dtype: the output is the autocast network's, bit for bit. The precision is then fixed;
  /// biases and normalisations keep their float32 parameters.
  void freeze_for_sampling();

  int64_t parameter_count() const;

private:
  torch::Tensor run(const LevelBlock& block, const torch::Tensor& x, const BlockConditioning& cond) const;

  UNetConfig config_;
  bool bf16_weights_ = false;
  TimeEmbedding time_{nullptr};
  TimeEmbedding aug_{nullptr};  ///< super-resolution stages only: the augmentation level's embedding
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

/// The network as the diffusion engine's Denoiser. A super-resolution stage needs the overloads
/// below; given one here, throws saying so.
Denoiser as_denoiser(UNet unet);
/// The network as a Denoiser for one sampling run: it computes the text's share of the pass once
/// per text and reuses it at every step (its own TextCaches), so the weights must not change while
/// it is in use. With two or more intra-op threads, a batch of two or more runs as two halves side
/// by side, each on its share of the threads (each half's images are the network's for that half
/// alone on those threads). An observer, when given, sees its cross-attention at every call, the
/// whole batch at once.
Denoiser as_sampling_denoiser(UNet unet, AttentionObserver* attention_observer = nullptr);

/// A super-resolution stage as a Denoiser of the images `low_res` enlarges ([N, …]). Called with
/// a batch of k·N (classifier-free guidance stacks [conditional; unconditional]), it repeats the
/// low-resolution condition k times in that order.
Denoiser as_denoiser(UNet unet, LowResCondition low_res);
Denoiser as_sampling_denoiser(UNet unet, LowResCondition low_res, AttentionObserver* attention_observer = nullptr);

} // namespace t2i::model
