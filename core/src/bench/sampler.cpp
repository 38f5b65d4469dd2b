// `t2i bench sampler`: the sampling engine's own cost per step, with an analytic network.
#include "t2i/bench.h"

#include "bench/timing.h"
#include "diffusion/gaussian_denoiser.h"
#include "diffusion/guidance.h"
#include "diffusion/sampler.h"
#include "t2i/runtime.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <stdexcept>

namespace t2i::bench {
namespace {

using namespace diffusion;  // the engine under test

/// Best-of-repeats seconds of `work` and of `reference`, timed in turns so that both see the same
/// machine load (a shared machine's load swings more than the engine's cost).
std::pair<double, double> best_in_turns(int repeats, const std::function<void()>& work,
                                        const std::function<void()>& reference) {
  work();  // warm-up: allocator and kernel caches
  reference();
  double best_work = 1e30;
  double best_reference = 1e30;
  for (int i = 0; i < repeats; ++i) {
    best_work = std::min(best_work, seconds_of(work));
    best_reference = std::min(best_reference, seconds_of(reference));
  }
  return {best_work, best_reference};
}

} // namespace

std::string sampler_json(const SamplerOptions& options) {
  if (options.batch < 1 || options.channels < 1 || options.size < 1 || options.steps < 1 || options.repeats < 1)
    throw std::runtime_error("bench sampler: batch, channels, size, steps and repeats must be positive");
  torch::NoGradGuard no_grad;
  const NoiseSchedule schedule({ScheduleKind::Cosine, 1000});
  const Denoiser model =
      classifier_free_guidance(gaussian_data_denoiser(schedule, 0.0, 0.5, Prediction::Epsilon), options.guidance);
  const int64_t batch = options.batch;
  SampleRequest request;
  for (int64_t b = 0; b < batch; ++b) request.seeds.push_back(static_cast<std::uint64_t>(b));
  request.image_shape = {options.channels, options.size, options.size};
  request.text = TextCondition::none(batch);
  request.text.drop.fill_(false);

  // The same network calls a run makes, without the engine around them.
  const torch::Tensor x = torch::randn({batch, options.channels, options.size, options.size});
  const torch::Tensor t = torch::full({batch}, 0.5);
  const auto model_calls = [&] {
    for (int k = 0; k < options.steps; ++k) (void)model(x, t, request.text);
  };

  nlohmann::json samplers;
  for (const diffusion::SamplerInfo& sampler : diffusion::sampler_infos()) {
    const SamplerKind kind = sampler.kind;
    nlohmann::json cases;
    for (const ThresholdKind thresholding : {ThresholdKind::None, ThresholdKind::Dynamic}) {
      diffusion::SamplerOptions sampler_options;
      sampler_options.kind = kind;
      sampler_options.steps = options.steps;
      sampler_options.thresholding.kind = thresholding;
      const auto sampler = make_sampler(schedule, sampler_options);
      const auto [run, calls] =
          best_in_turns(options.repeats, [&] { (void)sampler->sample(model, request); }, model_calls);
      cases["thresholding_" + to_string(thresholding)] = {{"ms_per_step", run / options.steps * 1e3},
                                                          {"model_ms_per_step", calls / options.steps * 1e3},
                                                          {"engine_ms_per_step", (run - calls) / options.steps * 1e3}};
    }
    samplers[to_string(kind)] = cases;
  }

  // One layer of a U-Net for scale: a 3x3 convolution at 128 channels over the network's batch.
  const int64_t network_batch = options.guidance == 1.0 ? batch : 2 * batch;
  const torch::Tensor features = torch::randn({network_batch, 128, options.size, options.size});
  const torch::Tensor kernel = torch::randn({128, 128, 3, 3});
  const double conv_seconds =
      best_in_turns(options.repeats, [&] { (void)torch::conv2d(features, kernel, {}, 1, 1); }, [] {}).first;

  const nlohmann::json result{
      {"benchmark", "sampler"},
      {"runtime", nlohmann::json::parse(runtime::to_json(runtime::report()))},
      {"shape", {options.batch, options.channels, options.size, options.size}},
      {"steps", options.steps},
      {"guidance", options.guidance},
      {"dynamic_threshold_percentile", Thresholding{}.percentile},
      {"schedule", "cosine, T = 1000"},
      {"model", "analytic Gaussian-data denoiser (elementwise), guided"},
      {"conv3x3_128ch_ms", conv_seconds * 1e3},
      {"conv3x3_128ch_shape", {network_batch, 128, options.size, options.size}},
      {"samplers", samplers}};
  return result.dump(2);
}

} // namespace t2i::bench
