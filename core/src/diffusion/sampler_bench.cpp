#include "t2i/diffusion_bench.h"

#include "diffusion/gaussian_denoiser.h"
#include "diffusion/guidance.h"
#include "diffusion/sampler.h"
#include "t2i/runtime.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <stdexcept>

namespace t2i::diffusion {
namespace {

double best_seconds(int repeats, const std::function<void()>& work) {
  work();  // warm-up: allocator and kernel caches
  double best = 1e30;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    work();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

} // namespace

std::string sampler_benchmark_json(const SamplerBenchOptions& options) {
  if (options.batch < 1 || options.channels < 1 || options.size < 1 || options.steps < 1 || options.repeats < 1)
    throw std::runtime_error("diffusion/sampler_bench: batch, channels, size, steps and repeats must be positive");
  torch::NoGradGuard no_grad;
  const NoiseSchedule schedule({ScheduleKind::Cosine, 1000});
  const Denoiser model =
      classifier_free_guidance(gaussian_data_denoiser(schedule, 0.0, 0.5, Prediction::Epsilon), options.guidance);
  const int64_t batch = options.batch;
  std::vector<std::uint64_t> seeds(static_cast<std::size_t>(batch));
  for (std::size_t b = 0; b < seeds.size(); ++b) seeds[b] = b;
  SampleRequest request;
  request.seeds = seeds;
  request.image_shape = {options.channels, options.size, options.size};
  request.text = TextCondition::none(batch);
  request.text.drop.fill_(false);

  const torch::Tensor x = torch::randn({batch, options.channels, options.size, options.size});
  const torch::Tensor t = torch::full({batch}, 0.5);
  const double model_seconds = best_seconds(options.repeats, [&] {
    for (int k = 0; k < options.steps; ++k) (void)model(x, t, request.text);
  }) / options.steps;

  const int64_t network_batch = options.guidance == 1.0 ? batch : 2 * batch;
  const torch::Tensor features = torch::randn({network_batch, 128, options.size, options.size});
  const torch::Tensor kernel = torch::randn({128, 128, 3, 3});
  const double conv_seconds = best_seconds(options.repeats, [&] { (void)torch::conv2d(features, kernel, {}, 1, 1); });

  nlohmann::json samplers;
  for (const SamplerKind kind : {SamplerKind::Ddpm, SamplerKind::Ddim, SamplerKind::DpmSolverPP}) {
    nlohmann::json cases;
    for (const ThresholdKind thresholding : {ThresholdKind::None, ThresholdKind::Dynamic}) {
      SamplerOptions sampler_options;
      sampler_options.kind = kind;
      sampler_options.steps = options.steps;
      sampler_options.thresholding.kind = thresholding;
      const auto sampler = make_sampler(schedule, sampler_options);
      const double seconds =
          best_seconds(options.repeats, [&] { (void)sampler->sample(model, request); }) / options.steps;
      cases["thresholding_" + to_string(thresholding)] = {
          {"ms_per_step", seconds * 1e3}, {"engine_ms_per_step", (seconds - model_seconds) * 1e3}};
    }
    samplers[to_string(kind)] = cases;
  }

  const nlohmann::json result{
      {"benchmark", "sampler"},
      {"runtime", nlohmann::json::parse(runtime::to_json(runtime::report()))},
      {"shape", {options.batch, options.channels, options.size, options.size}},
      {"steps", options.steps},
      {"guidance", options.guidance},
      {"schedule", "cosine, T = 1000"},
      {"model", "analytic Gaussian-data denoiser (elementwise), guided"},
      {"model_ms_per_call", model_seconds * 1e3},
      {"conv3x3_128ch_ms", conv_seconds * 1e3},
      {"conv3x3_128ch_shape", {network_batch, 128, options.size, options.size}},
      {"samplers", samplers}};
  return result.dump(2);
}

} // namespace t2i::diffusion
