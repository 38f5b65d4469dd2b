#include "train/stage_condition.h"

#include "data/image_pairs.h"
#include "diffusion/noise_augmentation.h"

#include <stdexcept>

namespace t2i::train {

torch::Tensor low_res_of(const model::Preset& preset, const torch::Tensor& x_0) {
  if (!preset.super_resolution()) throw std::logic_error("preset " + preset.name + " is a base model: it has no low-resolution input");
  return data::box_downsample(x_0, preset.unet.low_res_size);
}

model::LowResCondition stage_condition(const model::Preset& preset, const diffusion::NoiseSchedule& schedule,
                                       const torch::Tensor& x_0, torch::Generator& generator, std::optional<double> fixed_aug) {
  if (!preset.super_resolution()) return {};
  const std::int64_t b = x_0.size(0);
  const torch::Tensor aug = (fixed_aug ? diffusion::fixed_aug_levels(b, *fixed_aug, generator.device())
                                       : diffusion::sample_aug_levels(b, preset.training.aug_max, generator))
                                .to(x_0.device());
  const torch::Tensor noise =
      torch::randn(x_0.sizes(), generator, torch::TensorOptions().dtype(torch::kFloat32).device(generator.device())).to(x_0.device());
  const torch::Tensor up = diffusion::upsample_low_res(low_res_of(preset, x_0), x_0.size(-1));
  return {diffusion::augment_low_res(schedule, up, aug, noise), aug};
}

model::LowResCondition slice(const model::LowResCondition& condition, std::int64_t first, std::int64_t last) {
  if (!condition.defined()) return {};
  return {condition.image.slice(0, first, last), condition.aug.slice(0, first, last)};
}

} // namespace t2i::train
