// The paper's overfit-one-batch sanity check (§7.1), measured: train on one fixed batch, then
// ask whether the model reproduces each image from its own caption (`t2i bench overfit`).
#include "t2i/bench.h"

#include "data/batch_loader.h"
#include "data/prepared_dataset.h"
#include "io/device.h"
#include "model/checkpoint_file.h"
#include "sample/sampling.h"
#include "sample/text_to_image_model.h"
#include "train/dataset_setup.h"

#include <nlohmann/json.hpp>

#include <numeric>

namespace t2i::bench {
namespace {

using namespace train;  // the training engine under test

constexpr std::size_t kLossWindow = 10;  // steps averaged at each end: one step's loss depends on its random t

struct LossRecorder : Observer {
  std::vector<double> losses;
  void on_step(const StepMetrics& m) override { losses.push_back(m.train_loss); }
};

double mean(std::vector<double>::const_iterator first, std::vector<double>::const_iterator last) {
  return std::accumulate(first, last, 0.0) / static_cast<double>(std::distance(first, last));
}

} // namespace

std::string overfit_json(const TrainOptions& given, const OverfitOptions& check) {
  TrainOptions options = given;
  options.overfit_one_batch = true;
  LossRecorder recorder;
  const Summary summary = run(options, recorder);
  if (recorder.losses.size() < 2 * kLossWindow)
    throw std::runtime_error("the overfit run made " + std::to_string(recorder.losses.size()) + " steps; give at least " +
                             std::to_string(2 * kLossWindow));

  // The trainer's fixed batch: the first batch of the training split's stream with the run's seed.
  const auto dataset = data::PreparedDataset::open(data::prepared_folder(data_folder(options)));
  data::BatchOptions batch_options;
  batch_options.batch_size = options.overfit_images;
  batch_options.seed = options.seed;
  batch_options.prefetch = 0;
  const data::Batch batch = data::BatchLoader(dataset, data::Split::Train, batch_options).batch_at(0);
  std::vector<std::string> captions;
  std::vector<std::uint64_t> seeds;
  const auto indices = batch.caption_index.accessor<std::int64_t, 1>();
  for (std::int64_t i = 0; i < indices.size(0); ++i) {
    captions.push_back(dataset->captions()[static_cast<std::size_t>(indices[i])]);
    seeds.push_back(static_cast<std::uint64_t>(i));
  }

  auto model = sample::TextToImageModel::for_sampling(model::read_checkpoint(summary.last_checkpoint), summary.last_checkpoint,
                                                      io::parse_device(options.device));
  sample::SamplingSettings settings;
  settings.guidance = check.guidance;
  settings.steps = check.sample_steps;
  const torch::Tensor samples = sample::sample_images(*model, captions, seeds, settings);

  // mse[i][j]: sample i (from caption i) against batch image j, per pixel.
  const torch::Tensor targets = batch.images.to(torch::kFloat32);
  const std::int64_t n = targets.size(0);
  const torch::Tensor mse =
      (samples.unsqueeze(1) - targets.unsqueeze(0)).pow(2).flatten(2).mean(2);  // [n, n]
  const torch::Tensor nearest = mse.argmin(1);
  std::int64_t own = 0;
  nlohmann::json rows = nlohmann::json::array();
  for (std::int64_t i = 0; i < n; ++i) {
    own += nearest[i].item<std::int64_t>() == i;
    std::vector<double> row;
    for (std::int64_t j = 0; j < n; ++j) row.push_back(mse[i][j].item<double>());
    rows.push_back({{"caption", captions[static_cast<std::size_t>(i)]}, {"mse", row},
                    {"nearest", nearest[i].item<std::int64_t>()}});
  }
  const double first = mean(recorder.losses.begin(), recorder.losses.begin() + kLossWindow);
  const double last = mean(recorder.losses.end() - kLossWindow, recorder.losses.end());
  return nlohmann::json{{"benchmark", "overfit"},
                        {"steps", summary.steps},
                        {"images", n},
                        {"loss_first", first},
                        {"loss_last", last},
                        {"loss_ratio", last / first},
                        {"own_image_closest", own},
                        {"guidance", check.guidance},
                        {"sample_steps", check.sample_steps},
                        {"checkpoint", summary.last_checkpoint},
                        {"samples", rows}}
      .dump(2);
}

} // namespace t2i::bench
