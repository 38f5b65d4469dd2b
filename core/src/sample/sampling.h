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
#include <optional>
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
  /// Super-resolution stages only: the images they enlarge, [B, 3, s, s] in [−1, 1] (one per
  /// prompt, s the stage's low_res_size), and the fixed noise-augmentation level they sample at
  /// (a diffusion time in [0, 1], Imagen §2.3; unset: the preset's sample_aug).
  torch::Tensor low_res;
  std::optional<double> aug;
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

/// The super-resolution condition of one sampling run: `settings.low_res` enlarged to the stage's
/// size and noised to `settings.aug` with noise drawn from streams of their own, seeded by `seeds`
/// (so a seed gives the same conditioning whatever shares its batch). Undefined for a base model.
model::LowResCondition low_res_condition(const TextToImageModel& model, const SamplingSettings& settings,
                                         const std::vector<std::uint64_t>& seeds);

/// Images [B, 3, S, S] in [−1, 1] (float32, CPU) for `prompts`, one seed each. Throws
/// diffusion::SamplingCancelled when `cancel` is set. Probes see inside every step.
torch::Tensor sample_images(TextToImageModel& model, const std::vector<std::string>& prompts,
                            const std::vector<std::uint64_t>& seeds, const SamplingSettings& settings,
                            const diffusion::StepObserver& observer = {}, const job::CancelToken* cancel = nullptr,
                            const SamplingProbes& probes = {});

/// One image [3, H, W] in [−1, 1] as RGB8.
Image to_image(const torch::Tensor& chw);
/// An RGB8 image as [3, H, W] float32 in [−1, 1], the inverse of to_image on its 256 levels.
/// Throws std::invalid_argument when the buffer does not match the size.
torch::Tensor from_image(const Image& image);
/// Images [B, 3, H, W] in [−1, 1] laid out as image_grid (t2i/sample.h) lays them out.
Image image_grid(const torch::Tensor& images, int columns);

} // namespace t2i::sample
