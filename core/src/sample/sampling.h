// Prompts to images with a TextToImageModel: the diffusion engine's sampler with classifier-free
// guidance and thresholding, on the EMA weights. Shared by the sampling facade and the trainer's
// preview grids, so both sample the same way.
#pragma once

#include "t2i/job.h"

#include "diffusion/guidance.h"
#include "diffusion/sampler.h"
#include "sample/text_to_image_model.h"
#include "t2i/sample.h"

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace t2i::sample {

struct SamplingSettings {
  double guidance = 5.0;  ///< w; 1 = no guidance
  std::vector<double> scales;  ///< one w per image instead of `guidance` (one batch, several scales); empty = none
  diffusion::SamplerKind sampler = diffusion::kDefaultSampler;
  std::int64_t steps = 50;
  double eta = 0.0;
  diffusion::Thresholding thresholding;
};

/// What a sampling run shows besides each step's images; off unless set.
struct SamplingProbes {
  model::AttentionObserver* attention = nullptr;  ///< every cross-attention layer of every network pass
  diffusion::GuidanceObserver guidance;            ///< both halves of every guided prediction
};

/// The model's noise schedule and parameterisation, as its preset defines them.
diffusion::NoiseSchedule noise_schedule(const model::Preset& preset);
diffusion::Prediction prediction(const model::Preset& preset);
/// `wanted` sampling steps, or all the steps a short discrete schedule gives when that is fewer
/// (its sampling starts below step T, so even T can be too many); continuous time takes any number.
std::int64_t sampling_steps_for(const model::Preset& preset, std::int64_t wanted);

/// Images [B, 3, S, S] in [−1, 1] (float32, CPU) for `prompts`, one seed each. Throws
/// diffusion::SamplingCancelled when `cancel` is set. Probes see inside every step.
torch::Tensor sample_images(TextToImageModel& model, const std::vector<std::string>& prompts,
                            const std::vector<std::uint64_t>& seeds, const SamplingSettings& settings,
                            const diffusion::StepObserver& observer = {}, const job::CancelToken* cancel = nullptr,
                            const SamplingProbes& probes = {});

/// One image [3, H, W] in [−1, 1] as RGB8.
Image to_image(const torch::Tensor& chw);
/// Images [B, 3, H, W] in [−1, 1] laid out as image_grid (t2i/sample.h) lays them out.
Image image_grid(const torch::Tensor& images, int columns);

} // namespace t2i::sample
