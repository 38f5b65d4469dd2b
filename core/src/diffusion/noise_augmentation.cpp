#include "diffusion/noise_augmentation.h"

#include "diffusion/forward_process.h"
#include "diffusion/per_sample.h"

#include <stdexcept>
#include <string>

namespace t2i::diffusion {
namespace {

void check_level(double aug, const char* what) {
  if (!(aug >= 0.0 && aug <= 1.0))
    throw std::invalid_argument(std::string("noise augmentation: ") + what + " must be in [0, 1], got " + std::to_string(aug));
}

} // namespace

torch::Tensor upsample_low_res(const torch::Tensor& low_res, std::int64_t size) {
  namespace F = torch::nn::functional;
  const auto options = F::InterpolateFuncOptions().size(std::vector<int64_t>{size, size}).mode(torch::kBicubic).align_corners(false);
  return F::interpolate(low_res, options).clamp(-1.0, 1.0);
}

torch::Tensor sample_aug_levels(std::int64_t batch, double aug_max, torch::Generator& generator) {
  check_level(aug_max, "the largest training aug");
  const auto options = torch::TensorOptions().device(generator.device()).dtype(torch::kFloat32);
  // U[0, 1) · aug_max stays below aug_max; float32 rounding could reach it, never pass it.
  return (torch::rand({batch}, generator, options) * aug_max).clamp_max(static_cast<float>(aug_max));
}

torch::Tensor fixed_aug_levels(std::int64_t batch, double aug, const torch::Device& device) {
  check_level(aug, "the sampling aug");
  return torch::full({batch}, aug, torch::TensorOptions().device(device).dtype(torch::kFloat32));
}

torch::Tensor augment_low_res(const NoiseSchedule& schedule, const torch::Tensor& upsampled, const torch::Tensor& aug,
                              const torch::Tensor& noise) {
  if (aug.dim() != 1 || aug.size(0) != upsampled.size(0))
    throw std::invalid_argument("noise augmentation: one aug per image is needed");
  // A continuous schedule's α(0) is 1 − ε, not 1: aug = 0 is the clean image by definition.
  const torch::Tensor clean = per_sample(aug == 0, upsampled).to(torch::kBool);
  return torch::where(clean, upsampled, q_sample(schedule, upsampled, aug, noise));
}

torch::Tensor augment_low_res(const NoiseSchedule& schedule, const torch::Tensor& upsampled, const torch::Tensor& aug,
                              SeededNoise& noise) {
  return augment_low_res(schedule, upsampled, aug, noise.draw(upsampled.sizes().slice(1), upsampled.device()));
}

} // namespace t2i::diffusion
