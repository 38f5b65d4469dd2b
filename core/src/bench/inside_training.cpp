// `t2i bench train --inside`: the cost of looking inside training (issue 26) — the loss by noise
// level, the probe gallery and its memorisation point, each made once per evaluation — against the
// training time between two evaluations. Each is run as the trainer runs it (the same functions, the
// preset's own model and text encoder, the demo dataset), once, and timed.
#include "t2i/bench.h"

#include "bench/timing.h"
#include "data/image_pairs.h"
#include "data/prepared_dataset.h"
#include "io/device.h"
#include "sample/sampling.h"
#include "sample/text_to_image_model.h"
#include "t2i/neighbours.h"
#include "t2i/model.h"
#include "t2i/runtime.h"
#include "train/dataset_setup.h"
#include "train/loss_by_noise.h"
#include "train/memorisation.h"
#include "train/probe_gallery.h"
#include "train/run_folder.h"
#include "train/train_step.h"
#include "train/validation.h"

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

namespace t2i::bench {
namespace {

namespace fs = std::filesystem;

// The benchmark's own scratch folder, removed however it ends.
struct ScratchFolder {
  fs::path path = fs::temp_directory_path() / ("t2i-bench-inside-" + std::to_string(::getpid()));
  ~ScratchFolder() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

std::shared_ptr<const data::PreparedDataset> demo_dataset(const InsideTrainingOptions& options, int size,
                                                          const fs::path& folder) {
  train::TrainOptions demo;
  demo.data.demo = true;
  demo.data.demo_images = options.demo_images;
  demo.data.max_images = options.demo_images;
  demo.data.cache_dir = (folder / "data").string();
  return data::PreparedDataset::open(train::prepare_dataset(demo, size, {}).result.cache_dir);
}

std::vector<std::string> first_captions(const data::PreparedDataset& dataset, data::Split split, std::size_t count) {
  std::vector<std::string> captions;
  for (const data::ManifestImage& image : dataset.images(split)) {
    if (captions.size() == count) break;
    if (!image.captions.empty()) captions.push_back(dataset.captions()[image.captions.front()]);
  }
  return captions;
}

// Forward and backward of one batch of the preset's batch size, in its micro-batches, as the
// trainer's step makes them.
double seconds_per_step(sample::TextToImageModel& model, const diffusion::DiffusionLoss& loss,
                        const data::PreparedDataset& dataset, const model::Preset& preset, const torch::Device& device,
                        int repeats) {
  const int size = preset.unet.image_size;
  const auto& images = dataset.images(data::Split::Train);
  if (images.empty()) throw std::runtime_error("the demo dataset's training split is empty: give it more images");
  // Every demo image has captions; the batch repeats the split when it is smaller than a batch.
  std::vector<std::size_t> positions;
  std::vector<std::string> captions;
  for (std::size_t i = 0; i < static_cast<std::size_t>(preset.batch_size); ++i) {
    positions.push_back(i % images.size());
    captions.push_back(dataset.captions()[images[positions.back()].captions.at(0)]);
  }
  const torch::Tensor x_0 = data::image_pairs(dataset, data::Split::Train, positions, size, size / 2).high.to(device);
  torch::Generator generator = at::make_generator<at::CPUGeneratorImpl>(0);
  model.set_train_mode(true);
  const auto step = [&] {
    const diffusion::LossDraw draw = loss.draw(x_0, generator);
    const torch::Tensor drop = train::draw_text_drop(x_0.size(0), preset.training.cond_drop_prob, generator);
    train::accumulate_gradients(model, loss, x_0, captions, draw, drop, {}, preset.max_batch_size);
  };
  step();  // warm-up: oneDNN primitive creation, allocator growth
  std::vector<double> seconds;
  for (int i = 0; i < std::max(1, repeats); ++i) seconds.push_back(seconds_of(step));
  return median(seconds);
}

} // namespace

std::string inside_training_json(const InsideTrainingOptions& options) {
  torch::manual_seed(0);
  const model::Preset preset = model::find_preset(options.preset);
  if (preset.super_resolution())
    throw std::invalid_argument(preset.name + " is a super-resolution stage: its probes enlarge validation images and "
                                              "it keeps no memorisation curve; measure a base preset");
  const torch::Device device = io::parse_device(options.device);
  const int size = preset.unet.image_size;
  const ScratchFolder scratch;
  const auto dataset = demo_dataset(options, size, scratch.path);
  auto model = sample::TextToImageModel::create(preset, model::preset_to_json(preset), sample::TextEncoderChoice{},
                                                first_captions(*dataset, data::Split::Train, dataset->images(data::Split::Train).size()),
                                                device);
  const diffusion::DiffusionLoss loss = train::p2_loss(preset);
  const double step = seconds_per_step(*model, loss, *dataset, preset, device, options.steps);

  train::LossByNoise event;
  const double by_noise = seconds_of([&] {
    train::validation_by_noise(*model, loss, dataset, data::Split::Val, preset.batch_size,
                               std::int64_t{preset.max_batch_size} * 2, std::nullopt, event);
  });

  const std::int64_t sampling_steps = sample::sampling_steps_for(preset, train::kPreviewSteps);
  train::RunFolder folder((scratch.path / "run").string());
  std::string note;
  train::ProbeRecorder probes(folder,
                              train::plan_probe_gallery(first_captions(*dataset, data::Split::Val, train::kProbeCaptions),
                                                        sampling_steps, size),
                              std::nullopt, note);
  const double gallery = seconds_of([&] { probes.record(*model, 0, nullptr); });
  std::unique_ptr<train::MemorisationMeter> meter;
  const double index = seconds_of([&] {
    meter = train::MemorisationMeter::start(folder, data::prepared_folder((scratch.path / "data").string()),
                                            evaluate::NeighbourOptions{}, {});
  });
  const double memorisation = meter ? seconds_of([&] { meter->record(folder, 0, probes.final_images()); }) : 0.0;

  const double between = static_cast<double>(preset.eval_every) * step;
  const auto share = [between](double seconds) { return seconds / between; };
  nlohmann::json out{{"benchmark", "inside_training"},
                     {"preset", preset.name},
                     {"device", device.str()},
                     {"image_size", size},
                     {"demo_images", options.demo_images},
                     {"batch_size", preset.batch_size},
                     {"seconds_per_step", step},
                     {"eval_every", preset.eval_every},
                     {"training_seconds_between_evaluations", between},
                     {"loss_by_noise", {{"levels", train::kValidationNoiseLevels},
                                        {"seconds_per_evaluation", by_noise},
                                        {"share_of_training", share(by_noise)}}},
                     {"probe_gallery", {{"probes", probes.gallery().probe_count()},
                                        {"sampling_steps", sampling_steps},
                                        {"seconds_per_evaluation", gallery},
                                        {"share_of_training", share(gallery)}}},
                     {"memorisation", {{"index_seconds_once", index},
                                       {"seconds_per_evaluation", memorisation},
                                       {"share_of_training", share(memorisation)}}},
                     {"share_of_training_all", share(by_noise + gallery + memorisation)},
                     {"runtime", nlohmann::json::parse(runtime::to_json(runtime::report()))}};
  return out.dump(2);
}

} // namespace t2i::bench
