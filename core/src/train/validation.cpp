#include "train/validation.h"

#include "sample/sampling.h"
#include "train/stage_condition.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>

namespace t2i::train {
namespace {

constexpr std::uint64_t kValidationSeed = 20231;  // fixes validation noise and times across evaluations

} // namespace

diffusion::DiffusionLoss p2_loss(const model::Preset& preset) {
  diffusion::LossOptions options;
  options.prediction = sample::prediction(preset);
  options.weighting = diffusion::Weighting::P2;
  options.p2_k = preset.training.p2_k;
  options.p2_gamma = preset.training.p2_gamma;
  return diffusion::DiffusionLoss(sample::noise_schedule(preset), options);
}

double validation_p2(sample::TextToImageModel& model, const diffusion::DiffusionLoss& loss,
                     const std::shared_ptr<const data::PreparedDataset>& dataset, data::Split split,
                     std::int64_t batches, std::int64_t batch_size, std::int64_t micro,
                     const std::optional<data::Batch>& fixed, const job::CancelToken* cancel,
                     const EvaluationShare& share) {
  torch::NoGradGuard no_grad;
  torch::Generator generator = at::make_generator<at::CPUGeneratorImpl>(kValidationSeed);
  data::BatchOptions batch_options;
  batch_options.batch_size = static_cast<int>(batch_size);
  batch_options.image_size = model.image_size();
  batch_options.seed = kValidationSeed;
  batch_options.prefetch = 0;
  std::optional<data::BatchLoader> validation;
  if (!fixed) validation.emplace(dataset, split, batch_options);
  const std::int64_t count_batches = fixed ? 1 : std::max<std::int64_t>(1, batches);
  const std::int64_t per_batch = fixed ? fixed->images.size(0) : batch_size;
  // This rank's items of all batches, numbered batch after batch.
  const auto [own_first, own_last] = share.range(count_batches * per_batch);
  micro = std::max<std::int64_t>(1, micro);
  std::vector<double> sums{0.0, 0.0};  // weighted loss, items
  for (std::int64_t k = 0; k < count_batches; ++k) {
    if (job::cancelled(cancel)) break;
    const data::Batch batch = fixed ? *fixed : validation->batch_at(k);
    const torch::Tensor x_0 = batch.images.to(model.device());
    // Every batch's draw, evaluated or not: the generator then gives each item the noise and time
    // a single process gives it.
    const diffusion::LossDraw draw = loss.draw(x_0, generator);
    const model::LowResCondition low_res =
        stage_condition(model.preset(), loss.schedule(), x_0, generator, model.preset().sample_aug);
    const std::int64_t begin = std::clamp(own_first - k * per_batch, std::int64_t{0}, x_0.size(0));
    const std::int64_t end = std::clamp(own_last - k * per_batch, std::int64_t{0}, x_0.size(0));
    const auto indices = batch.caption_index.accessor<std::int64_t, 1>();
    for (std::int64_t first = begin; first < end; first += micro) {
      const std::int64_t last = std::min(end, first + micro);
      std::vector<std::string> captions;
      for (std::int64_t i = first; i < last; ++i) captions.push_back(dataset->captions()[static_cast<size_t>(indices[i])]);
      const TextCondition text = model.encode(captions, /*ema=*/true);
      const diffusion::LossDraw part{draw.t.slice(0, first, last), draw.noise.slice(0, first, last)};
      const diffusion::LossTerms terms = loss.evaluate(model.denoiser(true, slice(low_res, first, last)), x_0.slice(0, first, last), text, part);
      sums[0] += terms.weighted.sum().item<double>();
      sums[1] += static_cast<double>(last - first);
    }
  }
  share.sum(sums);
  return sums[1] > 0 ? sums[0] / sums[1] : std::nan("");
}

} // namespace t2i::train
