#include "sample/sampling.h"

#include "data/image_transform.h"
#include "diffusion/guidance.h"
#include "diffusion/noise_augmentation.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace t2i::sample {

diffusion::NoiseSchedule noise_schedule(const model::Preset& preset) {
  return diffusion::NoiseSchedule(
      diffusion::ScheduleSpec{diffusion::parse_schedule_kind(preset.training.schedule), preset.diffusion_steps});
}

diffusion::Prediction prediction(const model::Preset& preset) { return diffusion::parse_prediction(preset.training.objective); }

std::int64_t sampling_steps_for(const model::Preset& preset, std::int64_t wanted) {
  const diffusion::NoiseSchedule schedule = noise_schedule(preset);
  return schedule.is_discrete() ? std::min(wanted, schedule.max_sampling_steps()) : wanted;
}

model::LowResCondition low_res_condition(const TextToImageModel& model, const SamplingSettings& settings,
                                         const std::vector<std::uint64_t>& seeds) {
  const model::Preset& preset = model.preset();
  if (!preset.super_resolution() || !settings.low_res.defined()) return {};
  const auto batch = static_cast<std::int64_t>(seeds.size());
  const std::int64_t side = preset.unet.low_res_size;
  const torch::Tensor& low = settings.low_res;
  if (low.dim() != 4 || low.size(0) != batch || low.size(1) != 3 || low.size(2) != side || low.size(3) != side)
    throw std::invalid_argument("super-resolution stage " + preset.name + ": expected " + std::to_string(batch) + " low-resolution images of " +
                                std::to_string(side) + "×" + std::to_string(side) + ", got a tensor of shape " + c10::str(low.sizes()));
  const torch::Tensor up = diffusion::upsample_low_res(low.to(model.device(), torch::kFloat32), model.image_size());
  const torch::Tensor aug = diffusion::fixed_aug_levels(batch, settings.aug.value_or(preset.sample_aug), model.device());
  // Another stream than x_T's and the sampler's: a fixed odd constant (2^64/φ) mixed into each seed.
  std::vector<std::uint64_t> aug_seeds;
  for (const std::uint64_t seed : seeds) aug_seeds.push_back(seed ^ 0x9E3779B97F4A7C15ULL);
  diffusion::SeededNoise noise(aug_seeds);
  return {diffusion::augment_low_res(noise_schedule(preset), up, aug, noise), aug};
}

torch::Tensor sample_images(TextToImageModel& model, const std::vector<std::string>& prompts,
                            const std::vector<std::uint64_t>& seeds, const SamplingSettings& settings,
                            const diffusion::StepObserver& observer, const job::CancelToken* cancel,
                            const SamplingProbes& probes) {
  torch::NoGradGuard no_grad;
  diffusion::SamplerOptions options;
  options.kind = settings.sampler;
  options.steps = settings.steps;
  options.eta = settings.eta;
  options.prediction = prediction(model.preset());
  options.thresholding = settings.thresholding;
  const auto sampler = diffusion::make_sampler(noise_schedule(model.preset()), options);

  diffusion::SampleRequest request;
  request.seeds = seeds;
  const std::int64_t size = model.image_size();
  request.image_shape = {3, size, size};
  request.text = model.encode(prompts, /*ema=*/true);
  request.device = model.device();
  request.observer = observer;
  request.cancel = cancel;
  const Denoiser network = model.sampling_denoiser(probes.attention, low_res_condition(model, settings, seeds));
  if (!settings.scales.empty() && probes.guidance)
    throw std::invalid_argument("guidance anatomy records one guidance scale, not one per image");
  const Denoiser guided = settings.scales.empty()
                              ? diffusion::classifier_free_guidance(network, settings.guidance, probes.guidance)
                              : diffusion::classifier_free_guidance(network, settings.scales);
  return sampler->sample(guided, request).to(torch::kCPU);
}

Image to_image(const torch::Tensor& chw) {
  const torch::Tensor hwc =
      ((chw.detach().to(torch::kCPU, torch::kFloat32).clamp(-1, 1) + 1) * 127.5).round().to(torch::kUInt8).permute({1, 2, 0}).contiguous();
  Image image;
  image.height = static_cast<int>(hwc.size(0));
  image.width = static_cast<int>(hwc.size(1));
  image.rgb.resize(static_cast<size_t>(hwc.numel()));
  std::memcpy(image.rgb.data(), hwc.data_ptr<std::uint8_t>(), image.rgb.size());
  return image;
}

torch::Tensor from_image(const Image& image) {
  if (image.width < 1 || image.height < 1 ||
      image.rgb.size() != static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.height) * 3)
    throw std::invalid_argument("image buffer does not match its size");
  torch::Tensor chw = torch::empty({3, image.height, image.width}, torch::kFloat32);
  data::to_signed_unit_chw(image.rgb.data(), image.width, image.height, /*flip=*/false, chw.data_ptr<float>());
  return chw;
}

Image image_grid(const torch::Tensor& images, int columns) {
  std::vector<Image> tiles;
  for (std::int64_t i = 0; i < images.size(0); ++i) tiles.push_back(to_image(images[i]));
  return image_grid(tiles, columns);
}

Image image_grid(const std::vector<Image>& images, int columns) {
  constexpr int kGap = 2;
  if (images.empty()) return {};
  const int count = static_cast<int>(images.size());
  columns = std::max(1, std::min(columns, count));
  const int rows = (count + columns - 1) / columns;
  const int h = images.front().height;
  const int w = images.front().width;
  Image grid(columns * w + (columns - 1) * kGap, rows * h + (rows - 1) * kGap);
  std::fill(grid.rgb.begin(), grid.rgb.end(), std::uint8_t{255});
  for (int i = 0; i < count; ++i) {
    const Image& tile = images[static_cast<std::size_t>(i)];
    if (tile.width != w || tile.height != h) throw std::invalid_argument("image grid: the images differ in size");
    const int x0 = (i % columns) * (w + kGap);
    const int y0 = (i / columns) * (h + kGap);
    data::paste(grid, tile, x0, y0);
  }
  return grid;
}

} // namespace t2i::sample
