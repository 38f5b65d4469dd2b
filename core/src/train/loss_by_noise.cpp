#include "train/loss_by_noise.h"

#include "t2i/runs.h"
#include "train/run_folder.h"
#include "train/stage_condition.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace t2i::train {
namespace {

constexpr std::uint64_t kLossByNoiseSeed = 20262;  // fixes the validation subset and its noise across evaluations
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double log_snr_at(const diffusion::NoiseSchedule& schedule, double t) {
  return schedule.log_snr(torch::full({}, t, torch::kFloat64)).item<double>();
}

// The step time of a discrete schedule whose log-SNR is nearest λ.
double nearest_step_time(const diffusion::NoiseSchedule& schedule, double lambda) {
  const auto steps = static_cast<double>(schedule.steps());
  const torch::Tensor times = (torch::arange(schedule.steps(), torch::kFloat64) + 1.0) / steps;
  return schedule.time_of_step((schedule.log_snr(times) - lambda).abs().argmin().item<std::int64_t>());
}

nlohmann::json nullable(const std::vector<double>& values) {
  nlohmann::json array = nlohmann::json::array();
  for (const double v : values) array.push_back(std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr));
  return array;
}

std::vector<double> doubles(const nlohmann::json& object, const char* key) {
  std::vector<double> values;
  const auto array = object.find(key);
  if (array == object.end() || !array->is_array()) return values;
  for (const auto& v : *array) values.push_back(v.is_number() ? v.get<double>() : kNaN);
  return values;
}

std::vector<double> bin_centres(const std::vector<double>& edges) {
  std::vector<double> centres;
  for (std::size_t k = 0; k + 1 < edges.size(); ++k) centres.push_back((edges[k] + edges[k + 1]) / 2);
  return centres;
}

// The bin of `edges` holding λ, by the rule LogSnrBins applies (the top edge in the last bin).
std::size_t bin_of(double lambda, const std::vector<double>& edges) {
  const auto above = std::upper_bound(edges.begin(), edges.end(), lambda);
  const auto k = static_cast<std::ptrdiff_t>(above - edges.begin()) - 1;
  return static_cast<std::size_t>(std::clamp<std::ptrdiff_t>(k, 0, static_cast<std::ptrdiff_t>(edges.size()) - 2));
}

std::vector<double> row_of(const LossByNoise& e, LossGridSource source) {
  switch (source) {
    case LossGridSource::ValidationP2: return e.val_p2;
    case LossGridSource::ValidationMse: return e.val_mse;
    case LossGridSource::TrainingP2: return e.train_p2;
    case LossGridSource::TrainingMse: return e.train_mse;
    case LossGridSource::Divergence: return divergence(e);
  }
  return {};
}

bool is_training(LossGridSource source) {
  return source == LossGridSource::TrainingP2 || source == LossGridSource::TrainingMse;
}

// Divides each column by its first finite, non-zero value.
void relative_to_first(LossGrid& grid) {
  for (std::size_t c = 0; c < grid.log_snr.size(); ++c) {
    double first = kNaN;
    for (const auto& row : grid.values)
      if (std::isfinite(row[c]) && row[c] != 0.0) {
        first = row[c];
        break;
      }
    for (auto& row : grid.values) row[c] /= first;
  }
}

} // namespace

LogSnrRange log_snr_range(const diffusion::NoiseSchedule& schedule) {
  if (schedule.is_discrete())
    return {log_snr_at(schedule, schedule.time_of_step(schedule.steps() - 1)), log_snr_at(schedule, schedule.time_of_step(0))};
  return {log_snr_at(schedule, 1.0), log_snr_at(schedule, 0.0)};
}

LogSnrBins::LogSnrBins(const diffusion::NoiseSchedule& schedule, int count)
    : schedule_(schedule), range_(log_snr_range(schedule)), count_(count) {
  if (count < 1) throw std::runtime_error("train/loss_by_noise: at least one log-SNR bin, got " + std::to_string(count));
}

std::vector<double> LogSnrBins::edges() const {
  std::vector<double> edges;
  for (int k = 0; k < count_; ++k) edges.push_back(range_.low + (range_.high - range_.low) * k / count_);
  edges.push_back(range_.high);
  return edges;
}

torch::Tensor LogSnrBins::index(const torch::Tensor& t) const {
  // A one-step schedule has a single log-SNR: its span is 0 and everything is bin 0.
  const double width = std::max((range_.high - range_.low) / count_, std::numeric_limits<double>::min());
  return ((schedule_.log_snr(t) - range_.low) / width).floor().clamp(0, count_ - 1).to(torch::kInt64);
}

TrainingLossBins::TrainingLossBins(const diffusion::NoiseSchedule& schedule, int count) : bins_(schedule, count) {}

void TrainingLossBins::add(const diffusion::LossTerms& terms) {
  const torch::Tensor index = bins_.index(terms.t.detach());
  if (!count_.defined()) {
    const auto options = torch::TensorOptions().dtype(torch::kFloat64).device(index.device());
    p2_sum_ = torch::zeros({bins_.count()}, options);
    mse_sum_ = torch::zeros({bins_.count()}, options);
    count_ = torch::zeros({bins_.count()}, options);
  }
  p2_sum_.index_add_(0, index, terms.weighted.detach().to(torch::kFloat64));
  mse_sum_.index_add_(0, index, terms.mse.detach().to(torch::kFloat64));
  count_.index_add_(0, index, torch::ones({index.size(0)}, count_.options()));
}

void TrainingLossBins::take(LossByNoise& event) {
  const auto n = static_cast<std::size_t>(bins_.count());
  event.bin_edges = bins_.edges();
  event.train_p2.assign(n, kNaN);
  event.train_mse.assign(n, kNaN);
  event.train_count.assign(n, 0);
  if (!count_.defined()) return;
  const torch::Tensor count = count_.cpu(), p2 = p2_sum_.cpu(), mse = mse_sum_.cpu();
  for (std::size_t k = 0; k < n; ++k) {
    const auto i = static_cast<std::int64_t>(k);
    const double c = count[i].item<double>();
    event.train_count[k] = static_cast<std::int64_t>(c);
    if (c == 0) continue;
    event.train_p2[k] = p2[i].item<double>() / c;
    event.train_mse[k] = mse[i].item<double>() / c;
  }
  p2_sum_.zero_();
  mse_sum_.zero_();
  count_.zero_();
}

std::vector<NoiseLevelPoint> validation_levels(const diffusion::NoiseSchedule& schedule, int count) {
  const LogSnrRange range = log_snr_range(schedule);
  std::vector<NoiseLevelPoint> levels;
  for (int k = 0; k < count; ++k) {
    const double target = range.low + (range.high - range.low) * (k + 0.5) / count;
    const double t = schedule.is_discrete() ? nearest_step_time(schedule, target)
                                            : schedule.continuous_time_of_log_snr(target);
    levels.push_back({t, log_snr_at(schedule, t)});
  }
  return levels;
}

LevelLosses losses_at_levels(const std::function<Denoiser(std::int64_t, std::int64_t)>& denoiser,
                             const diffusion::DiffusionLoss& loss, const torch::Tensor& x_0,
                             const torch::Tensor& noise, const std::function<TextCondition(std::int64_t, std::int64_t)>& text,
                             const std::vector<NoiseLevelPoint>& levels, std::int64_t micro, const job::CancelToken* cancel) {
  torch::NoGradGuard no_grad;
  const std::int64_t n = x_0.size(0);
  micro = std::max<std::int64_t>(1, micro);
  std::vector<double> p2_sum(levels.size(), 0.0), mse_sum(levels.size(), 0.0);
  std::int64_t done = 0;
  for (std::int64_t first = 0; first < n && !job::cancelled(cancel); first += micro) {
    const std::int64_t last = std::min(n, first + micro);
    const TextCondition condition = text(first, last);  // encoded once for every level
    const Denoiser network = denoiser(first, last);
    const torch::Tensor x = x_0.slice(0, first, last);
    for (std::size_t l = 0; l < levels.size(); ++l) {
      const torch::Tensor t = torch::full({last - first}, levels[l].t, x.options().dtype(torch::kFloat32));
      const diffusion::LossTerms terms = loss.evaluate(network, x, condition, {t, noise.slice(0, first, last)});
      p2_sum[l] += terms.weighted.sum().item<double>();
      mse_sum[l] += terms.mse.sum().item<double>();
    }
    done += last - first;
  }
  LevelLosses out;
  for (std::size_t l = 0; l < levels.size(); ++l) {
    out.p2.push_back(done > 0 ? p2_sum[l] / static_cast<double>(done) : kNaN);
    out.mse.push_back(done > 0 ? mse_sum[l] / static_cast<double>(done) : kNaN);
  }
  return out;
}

void validation_by_noise(sample::TextToImageModel& model, const diffusion::DiffusionLoss& loss,
                         const std::shared_ptr<const data::PreparedDataset>& dataset, data::Split split,
                         std::int64_t images, std::int64_t micro, const std::optional<data::Batch>& fixed,
                         LossByNoise& event, const job::CancelToken* cancel) {
  torch::NoGradGuard no_grad;
  std::optional<data::Batch> batch = fixed;
  if (!batch) {
    data::BatchOptions options;
    options.batch_size = static_cast<int>(std::max<std::int64_t>(1, images));
    options.image_size = model.image_size();
    options.seed = kLossByNoiseSeed;
    options.prefetch = 0;
    batch = data::BatchLoader(dataset, split, options).batch_at(0);
  }
  const torch::Tensor x_0 = batch->images.to(model.device());
  torch::Generator generator = at::make_generator<at::CPUGeneratorImpl>(kLossByNoiseSeed);
  const torch::Tensor noise = torch::randn(x_0.sizes(), generator, torch::TensorOptions().dtype(torch::kFloat32)).to(x_0.device());
  const model::LowResCondition low_res =
      stage_condition(model.preset(), loss.schedule(), x_0, generator, model.preset().sample_aug);
  std::vector<std::string> captions;
  const auto indices = batch->caption_index.accessor<std::int64_t, 1>();
  for (std::int64_t i = 0; i < indices.size(0); ++i) captions.push_back(dataset->captions()[static_cast<std::size_t>(indices[i])]);
  const auto text = [&](std::int64_t first, std::int64_t last) {
    return model.encode({captions.begin() + first, captions.begin() + last}, /*ema=*/true);
  };
  const std::vector<NoiseLevelPoint> levels = validation_levels(loss.schedule());
  const LevelLosses losses = losses_at_levels(
      [&](std::int64_t first, std::int64_t last) { return model.denoiser(/*ema=*/true, slice(low_res, first, last)); }, loss, x_0,
      noise, text, levels, micro, cancel);
  event.p2_k = loss.options().p2_k;
  event.p2_gamma = loss.options().p2_gamma;
  event.level_t.clear();
  event.level_log_snr.clear();
  for (const NoiseLevelPoint& level : levels) {
    event.level_t.push_back(level.t);
    event.level_log_snr.push_back(level.log_snr);
  }
  event.val_p2 = losses.p2;
  event.val_mse = losses.mse;
  event.val_images = x_0.size(0);
}

nlohmann::json to_json(const LossByNoise& e) {
  return {{"event", "loss_by_noise"},
          {"step", e.step},
          {"p2_k", e.p2_k},
          {"p2_gamma", e.p2_gamma},
          {"validation", {{"images", e.val_images}, {"log_snr", e.level_log_snr}, {"t", e.level_t},
                          {"p2", nullable(e.val_p2)}, {"mse", nullable(e.val_mse)}}},
          {"training", {{"log_snr_edges", e.bin_edges}, {"p2", nullable(e.train_p2)}, {"mse", nullable(e.train_mse)},
                        {"count", e.train_count}}}};
}

LossByNoise loss_by_noise_from_json(const nlohmann::json& j) {
  LossByNoise e;
  e.step = j.value("step", std::int64_t{0});
  e.p2_k = j.value("p2_k", e.p2_k);
  e.p2_gamma = j.value("p2_gamma", e.p2_gamma);
  const nlohmann::json validation = j.value("validation", nlohmann::json::object());
  e.val_images = validation.value("images", std::int64_t{0});
  e.level_log_snr = doubles(validation, "log_snr");
  e.level_t = doubles(validation, "t");
  e.val_p2 = doubles(validation, "p2");
  e.val_mse = doubles(validation, "mse");
  const nlohmann::json training = j.value("training", nlohmann::json::object());
  e.bin_edges = doubles(training, "log_snr_edges");
  e.train_p2 = doubles(training, "p2");
  e.train_mse = doubles(training, "mse");
  for (const double c : doubles(training, "count")) e.train_count.push_back(std::isfinite(c) ? static_cast<std::int64_t>(c) : 0);
  return e;
}

std::vector<LossByNoise> read_loss_by_noise(const std::string& run_dir) {
  if (!is_run_folder(run_dir))
    throw std::runtime_error(run_dir + " is not a training run folder (no metrics.jsonl or config.json)");
  std::vector<LossByNoise> events;
  for (const auto& e : read_metrics(RunFolder(run_dir, /*create=*/false).metrics_path()))
    if (e.value("event", "") == "loss_by_noise") events.push_back(loss_by_noise_from_json(e));
  return events;
}

double p2_weight_at(double log_snr, double k, double gamma) {
  return diffusion::p2_weight(torch::full({}, std::exp(log_snr), torch::kFloat64), k, gamma).item<double>();
}

std::vector<double> divergence(const LossByNoise& e) {
  std::vector<double> out;
  for (std::size_t l = 0; l < e.val_p2.size() && l < e.level_log_snr.size(); ++l) {
    const bool has_bins = e.bin_edges.size() >= 2 && e.train_p2.size() + 1 == e.bin_edges.size();
    out.push_back(has_bins ? e.val_p2[l] - e.train_p2[bin_of(e.level_log_snr[l], e.bin_edges)] : kNaN);
  }
  return out;
}

LossGrid loss_grid(const std::vector<LossByNoise>& events, LossGridSource source, bool relative) {
  LossGrid grid;
  for (const LossByNoise& e : events) {
    std::vector<double> row = row_of(e, source);
    if (row.empty()) continue;
    if (grid.log_snr.empty()) grid.log_snr = is_training(source) ? bin_centres(e.bin_edges) : e.level_log_snr;
    row.resize(grid.log_snr.size(), kNaN);  // a row from a run with other levels keeps the first row's columns
    grid.steps.push_back(e.step);
    grid.values.push_back(std::move(row));
  }
  if (relative) relative_to_first(grid);
  return grid;
}

} // namespace t2i::train
