#include "diffusion/sampler.h"

#include "t2i/log.h"

#include <string>
#include <utility>

namespace t2i::diffusion {
namespace {

void check_request(const SampleRequest& request) {
  if (request.seeds.empty()) throw std::runtime_error("diffusion/sampler: no seeds, so no images to sample");
  if (request.image_shape.size() != 3 || request.image_shape[0] < 1 || request.image_shape[1] < 1 ||
      request.image_shape[2] < 1)
    throw std::runtime_error("diffusion/sampler: the image shape must be [C, H, W] with positive sizes");
  if (!request.text.drop.defined() && !request.text.embeddings.defined())
    throw std::runtime_error("diffusion/sampler: the text condition is empty (use TextCondition::none)");
  if (request.text.batch() != static_cast<int64_t>(request.seeds.size()))
    throw std::runtime_error("diffusion/sampler: " + std::to_string(request.seeds.size()) + " seeds but a text batch of " +
                             std::to_string(request.text.batch()));
}

} // namespace

Sampler::Sampler(NoiseSchedule schedule, SamplerOptions options)
    : schedule_(std::move(schedule)), options_(std::move(options)) {
  schedule_.sampling_times(options_.steps);  // rejects a step count the schedule cannot give
  check_thresholding(options_.thresholding);
}

torch::Tensor Sampler::sample(const Denoiser& model, const SampleRequest& request) const {
  check_request(request);
  torch::NoGradGuard no_grad;

  std::vector<NoiseLevel> levels;
  for (const double t : schedule_.sampling_times(options_.steps)) levels.push_back(schedule_.level(t));
  levels.push_back(NoiseLevel::clean());
  const auto total = static_cast<int64_t>(levels.size()) - 1;
  const auto batch = static_cast<int64_t>(request.seeds.size());
  log::core()->debug("diffusion: {} sampling of {} images in {} steps", to_string(options_.kind), batch, total);

  int64_t k = -1;  // the step whose move draws; −1 while x_T is drawn
  NoiseObserver noise_observer;
  if (request.noise_observer) noise_observer = [&](const torch::Tensor& draw) { request.noise_observer(k, draw); };
  SeededNoise noise(request.seeds, noise_observer);
  torch::Tensor x = noise.draw(request.image_shape, request.device);  // x_T ~ N(0, I)
  std::optional<NoiseLevel> previous_level;
  torch::Tensor previous_x_0;
  for (k = 0; k < total; ++k) {
    if (job::cancelled(request.cancel)) throw SamplingCancelled();
    const NoiseLevel& from = levels[static_cast<std::size_t>(k)];
    const torch::Tensor t = torch::full({batch}, from.t, torch::TensorOptions().dtype(torch::kFloat32).device(request.device));
    const torch::Tensor output = model(x, t, request.text).to(torch::kFloat32);
    const torch::Tensor alpha = torch::scalar_tensor(from.alpha, x.options());
    const torch::Tensor sigma = torch::scalar_tensor(from.sigma, x.options());
    Estimate estimate = to_estimate(options_.prediction, output, x, alpha, sigma);
    if (options_.thresholding.kind != ThresholdKind::None) {
      estimate.x_0 = threshold(estimate.x_0, options_.thresholding);
      estimate.epsilon = epsilon_from_x0(x, estimate.x_0, alpha, sigma);
    }
    if (request.observer) request.observer(StepReport{k, total, from.t, x, estimate.x_0});
    SamplerStep move{k, from, levels[static_cast<std::size_t>(k) + 1], x, estimate, previous_level, previous_x_0};
    x = step(move, noise);
    previous_level = from;
    previous_x_0 = estimate.x_0;
  }
  return x;
}

} // namespace t2i::diffusion
