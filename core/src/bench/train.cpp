// `t2i bench train|sample`: a preset's training step and guided sampling on this machine.
#include "t2i/bench.h"

#include "bench/profile.h"
#include "bench/timing.h"
#include "diffusion/guidance.h"
#include "diffusion/loss.h"
#include "io/device.h"
#include "model/preset_config.h"
#include "model/unet.h"
#include "sample/attention_recorder.h"
#include "sample/guidance_anatomy.h"
#include "sample/sampling.h"
#include "t2i/model.h"
#include "t2i/runs.h"
#include "t2i/runtime.h"
#include "train/adamw.h"
#include "train/ema.h"

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <optional>
#include <stdexcept>

namespace t2i::bench {
namespace {

using namespace train;  // the training engine under test

constexpr std::int64_t kBenchTextWidth = 768;  // T5-base, as Table 1's parameter budgets assume
constexpr std::int64_t kBenchTokens = 16;      // a COCO caption is ~14 tokens

struct BenchModel {
  model::Preset preset;
  torch::Device device;
  model::UNet unet{nullptr};
  model::ExecutionOptions execution;
};

BenchModel build(const PresetOptions& options) {
  BenchModel b{model::find_preset(options.preset), io::parse_device(options.device), model::UNet{nullptr}, {}};
  b.unet = model::UNet(model::unet_config(b.preset, kBenchTextWidth));
  b.unet->to(b.device);
  b.execution = model::default_execution(b.device.is_cuda() ? "cuda" : "cpu");
  if (options.precision != runtime::Precision::Auto) b.execution.precision = options.precision;
  b.unet->set_execution(b.execution);
  return b;
}

TextCondition random_text(std::int64_t batch, const torch::Device& device) {
  TextCondition text;
  text.embeddings = torch::randn({batch, kBenchTokens, kBenchTextWidth}, torch::TensorOptions().device(device));
  text.mask = torch::ones({batch, kBenchTokens}, torch::TensorOptions().dtype(torch::kBool).device(device));
  text.drop = torch::zeros({batch}, torch::TensorOptions().dtype(torch::kBool).device(device));
  return text;
}

nlohmann::json common(const BenchModel& b) {
  return {{"preset", b.preset.name},
          {"device", b.device.str()},
          {"parameters", b.unet->parameter_count()},
          {"precision", runtime::to_string(b.execution.precision)},
          {"channels_last", b.execution.channels_last},
          {"image_size", b.preset.unet.image_size},
          {"runtime", nlohmann::json::parse(runtime::to_json(runtime::report()))}};
}

} // namespace

std::string train_json(const PresetOptions& options) {
  torch::manual_seed(0);
  BenchModel b = build(options);
  std::vector<std::pair<std::string, torch::Tensor>> params;
  for (const auto& item : b.unet->named_parameters()) params.emplace_back(item.key(), item.value());
  model::UNet ema_copy(model::unet_config(b.preset, kBenchTextWidth));
  ema_copy->to(b.device);
  std::vector<torch::Tensor> averaged, online;
  for (const auto& p : ema_copy->parameters()) averaged.push_back(p.detach());
  for (const auto& [name, p] : params) online.push_back(p);
  AdamW optimizer(params, AdamWOptions{});
  Ema ema(averaged, online, b.preset.training.ema_decay);
  diffusion::DiffusionLoss loss(sample::noise_schedule(b.preset), diffusion::LossOptions{});
  torch::Generator generator = at::make_generator<at::CPUGeneratorImpl>(0);

  const std::int64_t micro = b.preset.max_batch_size;
  const std::int64_t s = b.preset.unet.image_size;
  const torch::Tensor x_0 = torch::rand({micro, 3, s, s}, torch::TensorOptions().device(b.device)) * 2 - 1;
  const TextCondition text = random_text(micro, b.device);
  // A super-resolution stage also reads its enlarged, noise-augmented input (any image of the right shape times the same).
  const Denoiser denoiser =
      b.preset.super_resolution()
          ? model::as_denoiser(b.unet, model::LowResCondition{torch::rand_like(x_0) * 2 - 1,
                                                              torch::rand({micro}, torch::TensorOptions().device(b.device))})
          : model::as_denoiser(b.unet);
  auto micro_step = [&] {
    optimizer.zero_grad();
    loss(denoiser, x_0, text, generator).loss.backward();
    optimizer.step(1e-4);
    ema.update();
  };
  micro_step();  // warm-up: oneDNN primitive creation, allocator growth
  const auto start = Clock::now();
  const int repeats = std::max(1, options.micro_batches);
  for (int i = 0; i < repeats; ++i) micro_step();
  const double seconds = seconds_since(start) / repeats;
  nlohmann::json out = common(b);
  out["benchmark"] = "train";
  out["micro_batch"] = micro;
  out["seconds_per_micro_batch"] = seconds;
  out["images_per_second"] = static_cast<double>(micro) / seconds;
  out["peak_rss_bytes"] = runtime::memory().peak_resident_bytes;
  return out.dump(2);
}

std::string data_parallel_json(const std::vector<DataParallelRun>& runs) {
  nlohmann::json out{{"benchmark", "train_data_parallel"},
                     {"runtime", nlohmann::json::parse(runtime::to_json(runtime::report()))}};
  std::optional<double> single;
  for (const DataParallelRun& run : runs) {
    const train::History history = train::read_history(run.run_dir);
    if (history.steps.size() < 2) throw std::runtime_error(run.run_dir + ": fewer than 2 steps to measure");
    std::vector<double> rates;
    for (std::size_t i = 1; i < history.steps.size(); ++i) rates.push_back(history.steps[i].images_per_second);
    std::nth_element(rates.begin(), rates.begin() + static_cast<std::ptrdiff_t>(rates.size() / 2), rates.end());
    const double rate = rates[rates.size() / 2];
    const nlohmann::json config = nlohmann::json::parse(history.config_json);
    const int batch = config.at("preset").at("batch_size").get<int>();
    nlohmann::json entry{{"nproc", run.nproc},
                         {"preset", config.at("preset").at("name")},
                         {"global_batch", batch},
                         {"steps_measured", rates.size()},
                         {"images_per_second", rate},
                         {"seconds_per_step", static_cast<double>(batch) / rate},
                         {"allreduce_bytes_per_step", history.steps.back().allreduce_bytes},
                         {"allreduce_overlapped_bytes_per_step", history.steps.back().allreduce_overlapped_bytes}};
    if (run.nproc == 1) single = rate;
    out["runs"].push_back(entry);
  }
  if (single)
    for (nlohmann::json& entry : out["runs"])
      entry["scaling_efficiency"] = entry["images_per_second"].get<double>() / (entry["nproc"].get<double>() * *single);
  return out.dump(2);
}

std::string sample_json(const PresetOptions& options) {
  torch::manual_seed(0);
  BenchModel b = build(options);
  b.unet->eval();
  b.unet->freeze_for_sampling();  // as TextToImageModel::for_sampling sets up the Generator's
  diffusion::SamplerOptions sampler_options;
  sampler_options.kind = options.sampler;
  sampler_options.steps = options.steps;
  const auto sampler = diffusion::make_sampler(sample::noise_schedule(b.preset), sampler_options);
  diffusion::SampleRequest request;
  for (int i = 0; i < std::max(1, options.images); ++i) request.seeds.push_back(static_cast<std::uint64_t>(i));
  const std::int64_t s = b.preset.unet.image_size;
  request.image_shape = {3, s, s};
  request.text = random_text(static_cast<std::int64_t>(request.seeds.size()), b.device);
  request.device = b.device;
  // A new denoiser per run, as each of the Generator's runs has: it computes the text's share once.
  const auto guided = [&] { return diffusion::classifier_free_guidance(model::as_sampling_denoiser(b.unet), options.guidance); };
  // Warm-up, as the Generate page is after its first image: oneDNN creates its primitives and the
  // allocator grows on the first network call, which would otherwise count as sampling time.
  diffusion::SamplerOptions warm_up = sampler_options;
  warm_up.steps = 1;
  (void)diffusion::make_sampler(sample::noise_schedule(b.preset), warm_up)->sample(guided(), request);
  const auto start = Clock::now();
  (void)sampler->sample(guided(), request);
  const double seconds = seconds_since(start);
  nlohmann::json out = common(b);
  out["benchmark"] = "sample";
  out["sampler"] = diffusion::to_string(options.sampler);
  out["steps"] = options.steps;
  out["guidance"] = options.guidance;
  out["images"] = request.seeds.size();
  out["seconds_per_image"] = seconds / static_cast<double>(request.seeds.size());
  out["seconds_per_step"] = seconds / options.steps;
  out["peak_rss_bytes"] = runtime::memory().peak_resident_bytes;
  if (options.probes) {  // what looking inside costs: the same run recording both probes
    std::vector<std::string> pieces;
    for (std::int64_t i = 0; i + 1 < kBenchTokens; ++i) pieces.push_back("\xE2\x96\x81w" + std::to_string(i));
    pieces.push_back("</s>");
    sample::AttentionRecorder attention(std::vector<std::vector<std::string>>(request.seeds.size(), pieces),
                                        static_cast<int>(s));
    sample::GuidanceAnatomyRecorder anatomy(sample::noise_schedule(b.preset), sample::prediction(b.preset),
                                            sampler_options.thresholding, options.guidance);
    diffusion::SampleRequest observed = request;
    observed.observer = [&](const diffusion::StepReport&) { attention.end_step(); };
    const auto probed = diffusion::classifier_free_guidance(
        model::as_sampling_denoiser(b.unet, &attention), options.guidance,
        [&](const diffusion::GuidanceReport& report) { anatomy.observe(report); });
    const auto probed_start = Clock::now();
    (void)sampler->sample(probed, observed);
    const double probed_seconds = seconds_since(probed_start);
    out["probes"] = {{"seconds_per_step", probed_seconds / options.steps},
                     {"ratio_to_plain_step", probed_seconds / seconds},
                     {"attention_bytes_per_image", attention.maps().bytes() / request.seeds.size()}};
  }
  if (options.profile) {  // a second run, so that the profiler's overhead stays out of the timing
    CategoryProfiler profiler;
    profiler.run([&] { (void)sampler->sample(guided(), request); });
    out["profile"] = {{"per", "sampling step"}, {"phases", {{"step", profiler.json(options.steps)}}}};
  }
  return out.dump(2);
}

} // namespace t2i::bench
