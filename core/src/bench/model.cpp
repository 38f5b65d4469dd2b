// `t2i bench model`: a preset's U-Net on this machine (parameters, counted FLOPs, forward and
// training-step times, memory), next to a plain convolution measured in the same run.
#include "t2i/bench.h"

#include "bench/profile.h"
#include "bench/timing.h"
#include "diffusion/noise_augmentation.h"
#include "model/flop_counter.h"
#include "model/preset_config.h"
#include "model/unet.h"
#include "t2i/model.h"
#include "t2i/runtime.h"
#include "t2i/train.h"
#include "train/adamw.h"
#include "train/ema.h"
#include "train/resource_estimate.h"

#include <ATen/record_function.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <stdexcept>

namespace t2i::bench {
namespace {

using namespace model;  // the network under test

struct Mode {
  std::string name;
  runtime::Precision precision = runtime::Precision::Float32;
  bool checkpoint = false;
};

Mode parse_mode(const std::string& name) {
  Mode mode{name};
  const auto plus = name.find('+');
  const auto precision = name.substr(0, plus);
  if (precision == "bf16") mode.precision = runtime::Precision::BFloat16;
  else if (precision != "fp32") throw std::runtime_error("bench model: unknown mode \"" + name + "\" (fp32, bf16, …+checkpoint)");
  if (plus != std::string::npos) {
    if (name.substr(plus + 1) != "checkpoint")
      throw std::runtime_error("bench model: unknown mode \"" + name + "\" (fp32, bf16, …+checkpoint)");
    mode.checkpoint = true;
  }
  return mode;
}

// Linux resets the peak resident set ("VmHWM") when 5 is written here, so each mode's peak is its own.
void reset_peak_memory() { std::ofstream("/proc/self/clear_refs") << "5"; }

struct Inputs {
  torch::Tensor x, t, target;
  TextCondition text;
  LowResCondition low_res;  ///< a super-resolution stage's: an upsampled image and its aug level
};

// A micro-batch shaped like training's: captions of ~20 tokens padded to the preset's length.
Inputs make_inputs(const UNetConfig& config, int64_t batch, int64_t text_length) {
  torch::manual_seed(0);
  Inputs in;
  in.x = torch::randn({batch, config.channels, config.image_size, config.image_size});
  in.target = torch::randn_like(in.x);
  in.t = torch::rand({batch});
  in.text.embeddings = torch::randn({batch, text_length, config.text_embed_dim});
  const auto real = std::min<int64_t>(text_length, 20);
  in.text.mask = torch::arange(text_length).lt(real).unsqueeze(0).expand({batch, text_length}).clone();
  in.text.drop = torch::zeros({batch}, torch::kBool);
  if (config.super_resolution()) {
    const auto small = torch::rand({batch, config.channels, config.low_res_size, config.low_res_size}) * 2 - 1;
    in.low_res = {diffusion::upsample_low_res(small, config.image_size), torch::rand({batch})};
  }
  return in;
}

// Training steps as `t2i train` runs them (forward, backward, then the trainer's own AdamW and EMA
// rather than the stand-in optimizer timed above), each phase profiled by category of operator:
// the mean of `repeats` steps after an unprofiled one that creates the optimizer's moments.
nlohmann::json profile_training(UNet& unet, const Inputs& in, int repeats) {
  std::vector<std::pair<std::string, torch::Tensor>> named;
  std::vector<torch::Tensor> online, averaged;
  for (const auto& item : unet->named_parameters()) {
    named.emplace_back(item.key(), item.value());
    online.push_back(item.value());
    averaged.push_back(item.value().detach().clone());
  }
  train::AdamW optimizer(named, train::AdamWOptions{});
  train::Ema ema(averaged, online, 0.9999);  // the decay does not change the work
  torch::Tensor loss;
  const auto forward = [&] { loss = torch::mse_loss(unet->forward(in.x, in.t, in.text, in.low_res), in.target); };
  const auto backward = [&] { loss.backward(); };
  const auto step = [&] {
    {
      RECORD_USER_SCOPE(kOptimizerScope);
      optimizer.step(1e-4);
    }
    RECORD_USER_SCOPE(kEmaScope);
    ema.update();
  };
  optimizer.zero_grad();
  forward();
  backward();
  step();
  CategoryProfiler forward_profile, backward_profile, step_profile;
  for (int i = 0; i < repeats; ++i) {
    optimizer.zero_grad();
    forward_profile.run(forward);
    backward_profile.run(backward);
    step_profile.run(step);
  }
  return {{"per", "training step"},
          {"phases", {{"forward", forward_profile.json()}, {"backward", backward_profile.json()}, {"step", step_profile.json()}}}};
}

nlohmann::json run_mode(UNet& unet, const Mode& mode, bool channels_last, const Inputs& in, int repeats,
                        const nlohmann::json& plain_conv, bool profile) {
  ExecutionOptions execution = unet->execution();
  execution.precision = mode.precision;
  execution.checkpoint = mode.checkpoint;
  execution.channels_last = channels_last;
  unet->set_execution(execution);
  reset_peak_memory();
  const double batch = static_cast<double>(in.x.size(0));

  unet->eval();
  std::vector<double> forward_times;
  {
    torch::NoGradGuard no_grad;
    (void)unet->forward(in.x, in.t, in.text, in.low_res);
    for (int i = 0; i < repeats; ++i)
      forward_times.push_back(seconds_of([&] { (void)unet->forward(in.x, in.t, in.text, in.low_res); }));
  }

  unet->train();
  torch::optim::AdamW optimizer(unet->parameters(), torch::optim::AdamWOptions(1e-4).betas({0.9, 0.99}));
  const auto forward_backward = [&] {
    optimizer.zero_grad();
    torch::mse_loss(unet->forward(in.x, in.t, in.text, in.low_res), in.target).backward();
  };
  FlopCount executed;
  {
    FlopCounter counter;  // the warm-up step, with the recomputation that checkpointing adds
    forward_backward();
    executed = counter.count();
  }
  optimizer.step();
  std::vector<double> train_times, step_times;
  for (int i = 0; i < repeats; ++i) {
    train_times.push_back(seconds_of(forward_backward));
    step_times.push_back(seconds_of([&] { optimizer.step(); }));
  }

  const double forward_s = median(forward_times);
  const double train_s = median(train_times);
  const double step_s = median(step_times);
  const double train_gflops = executed.total() / train_s / 1e9;
  const std::string conv_key = std::string(mode.precision == runtime::Precision::BFloat16 ? "bf16" : "fp32") +
                               (channels_last ? "_channels_last" : "_nchw");
  nlohmann::json result{
      {"precision", to_string(mode.precision)},
      {"checkpoint", mode.checkpoint},
      {"channels_last", channels_last},
      {"forward_s", forward_s},
      {"forward_images_per_s", batch / forward_s},
      {"forward_backward_s", train_s},
      {"optimizer_step_s", step_s},
      {"train_images_per_s", batch / (train_s + step_s)},
      {"train_gflop_per_image_executed", executed.total() / batch / 1e9},
      {"train_gflops", train_gflops},
      {"peak_rss_bytes", runtime::memory().peak_resident_bytes},
      // What the Train page's estimate says for this step (without the trainer's EMA copy, which
      // this benchmark does not keep): the two side by side keep the estimate honest.
      {"estimated_peak_rss_bytes",
       train::training_memory(unet->config(), in.text.embeddings.size(1), unet->parameter_count(), in.x.size(0),
                              mode.precision == runtime::Precision::BFloat16, mode.checkpoint, /*ema=*/false)
           .peak_bytes()}};
  if (plain_conv.contains(conv_key)) {
    const double conv_gflops = plain_conv.at(conv_key).at("gflops").get<double>();
    result["plain_conv"] = conv_key;
    result["train_fraction_of_plain_conv"] = train_gflops / conv_gflops;
  }
  if (profile) result["profile"] = profile_training(unet, in, repeats);
  return result;
}

} // namespace

std::string model_json(const ModelOptions& options) {
  const Preset preset = find_preset(options.preset);
  UNetConfig config = unet_config(preset);
  config.execution.channels_last = options.channels_last;
  const int64_t batch = options.batch > 0 ? options.batch : preset.max_batch_size;
  const int64_t text_length = options.text_length > 0 ? options.text_length : preset.max_text_length;
  const int repeats = std::max(1, options.repeats);
  std::vector<Mode> modes;
  for (const auto& name : options.modes.empty() ? std::vector<std::string>{"fp32", "fp32+checkpoint", "bf16", "bf16+checkpoint"}
                                                 : options.modes)
    modes.push_back(parse_mode(name));

  nlohmann::json plain_conv = nlohmann::json::object();
  if (options.kernels) {
    KernelsOptions kernel_options;
    kernel_options.repeats = repeats;
    plain_conv = nlohmann::json::parse(kernels_json(kernel_options)).at("conv3x3_8x128x64x64");
  }

  torch::manual_seed(0);
  UNet unet(config);
  const Inputs in = make_inputs(config, batch, text_length);

  FlopCount forward;
  {
    torch::NoGradGuard no_grad;
    FlopCounter counter;
    (void)unet->forward(in.x, in.t, in.text, in.low_res);
    forward = counter.count();
  }
  const auto defaults = default_execution("cpu");
  nlohmann::json result{
      {"benchmark", "model"},
      {"preset", preset.name},
      {"runtime", nlohmann::json::parse(runtime::to_json(runtime::report()))},
      {"parameters", unet->parameter_count()},
      {"image_size", config.image_size},
      {"low_res_size", config.low_res_size},
      {"micro_batch", batch},
      {"text_length", text_length},
      {"forward_gflop_per_image", forward.total() / static_cast<double>(batch) / 1e9},
      {"forward_gflop_per_image_conv", forward.conv / static_cast<double>(batch) / 1e9},
      {"forward_gflop_per_image_matmul", forward.matmul / static_cast<double>(batch) / 1e9},
      {"default_execution_cpu", to_string(defaults.precision) + (defaults.channels_last ? ", channels-last" : "")},
      {"plain_conv_3x3_8x128x64x64", plain_conv}};
  if (preset.paper_parameters) result["paper_parameters"] = *preset.paper_parameters;
  {
    // What the studio estimates before a run, to set beside the measured peaks: training at the
    // preset's micro-batch in fp32 with the learned text encoder, and sampling one guided image.
    train::TrainOptions estimated;
    estimated.precision = runtime::Precision::Float32;
    const train::ResourceEstimate estimate = train::estimate_resources(preset, estimated);
    result["estimate"] = {{"micro_batch", preset.max_batch_size},
                          {"train_peak_bytes", estimate.peak_bytes},
                          {"sample_peak_bytes", estimate.sample_peak_bytes},
                          {"breakdown", estimate.breakdown}};
  }
  nlohmann::json by_mode = nlohmann::json::object();
  for (const auto& mode : modes) by_mode[mode.name] = run_mode(unet, mode, options.channels_last, in, repeats, plain_conv, options.profile);
  result["modes"] = by_mode;
  return result.dump(2);
}

} // namespace t2i::bench
