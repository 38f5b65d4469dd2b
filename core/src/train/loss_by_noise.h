// Loss by noise level (t2i/loss_by_noise.h) inside the trainer: the schedule's log-SNR range cut
// into equal bins, the training losses summed per bin as the steps compute them, and the
// deterministic validation at fixed levels. Times and their log-SNR come from the one schedule.
#pragma once

#include "t2i/job.h"
#include "t2i/loss_by_noise.h"

#include "common/denoiser.h"
#include "data/batch_loader.h"
#include "data/prepared_dataset.h"
#include "diffusion/loss.h"
#include "diffusion/schedule.h"
#include "sample/text_to_image_model.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace t2i::train {

/// The log-SNR of the cleanest and the noisiest time training draws: on a discrete schedule its
/// first and last step, on a continuous one t = 0 and t = 1.
struct LogSnrRange {
  double low = 0;   ///< noisiest
  double high = 0;  ///< cleanest
};
LogSnrRange log_snr_range(const diffusion::NoiseSchedule& schedule);

/// `count` equal-width bins over log_snr_range(); the top edge belongs to the last bin, so every
/// training time falls in exactly one.
class LogSnrBins {
public:
  LogSnrBins(const diffusion::NoiseSchedule& schedule, int count);
  int count() const { return count_; }
  std::vector<double> edges() const;  ///< count + 1, ascending
  /// [B] int64 bin of each time of t [B], on t's device.
  torch::Tensor index(const torch::Tensor& t) const;

private:
  diffusion::NoiseSchedule schedule_;  // a copy: it shares the schedule's tables
  LogSnrRange range_;
  int count_;
};

/// Sums the per-sample losses of the training steps by log-SNR bin. The sums stay on the loss's
/// device and are read only by take(), so adding costs no synchronisation.
class TrainingLossBins {
public:
  explicit TrainingLossBins(const diffusion::NoiseSchedule& schedule, int count = kTrainingLossBins);
  /// Adds one micro-batch's terms (LossTerms::t, ::weighted, ::mse).
  void add(const diffusion::LossTerms& terms);
  /// Sets `event`'s bin edges, means and counts over what was added since the last take(), and
  /// starts again.
  void take(LossByNoise& event);

private:
  LogSnrBins bins_;
  torch::Tensor p2_sum_, mse_sum_, count_;  ///< [count] float64; undefined until the first add()
};

/// A validation level: the time a schedule evaluates it at and that time's own log-SNR.
struct NoiseLevelPoint {
  double t = 0;
  double log_snr = 0;
};

/// `count` levels at the centres of equal slices of log_snr_range(), lowest log-SNR first; each is
/// the schedule time whose log-SNR is nearest (a discrete schedule's step, or the continuous
/// time NoiseSchedule::continuous_time_of_log_snr finds).
std::vector<NoiseLevelPoint> validation_levels(const diffusion::NoiseSchedule& schedule, int count = kValidationNoiseLevels);

/// Mean P2-weighted and unweighted loss per level of the network on x₀ [N, …] with `noise` (shaped
/// like x₀, the same at every level), `micro` images per forward pass; `denoiser(first, last)`
/// and `text(first, last)` give images [first, last)'s network (a super-resolution stage's sees
/// their low-resolution inputs) and condition. Stops (returning what it has) when `cancel` is set.
struct LevelLosses {
  std::vector<double> p2, mse;
};
LevelLosses losses_at_levels(const std::function<Denoiser(std::int64_t, std::int64_t)>& denoiser,
                             const diffusion::DiffusionLoss& loss, const torch::Tensor& x_0,
                             const torch::Tensor& noise, const std::function<TextCondition(std::int64_t, std::int64_t)>& text,
                             const std::vector<NoiseLevelPoint>& levels, std::int64_t micro,
                             const job::CancelToken* cancel = nullptr);

/// The trainer's deterministic validation by level: the EMA model on a fixed subset of `split`
/// (`images` of them, or `fixed`, the overfit batch), noise from a fixed seed (and a super-resolution
/// stage's augmentation at the preset's sample_aug, its noise drawn next). Fills `event`'s
/// validation fields and P2 parameters.
void validation_by_noise(sample::TextToImageModel& model, const diffusion::DiffusionLoss& loss,
                         const std::shared_ptr<const data::PreparedDataset>& dataset, data::Split split,
                         std::int64_t images, std::int64_t micro, const std::optional<data::Batch>& fixed,
                         LossByNoise& event, const job::CancelToken* cancel = nullptr);

/// The metrics.jsonl event and back (NaN is written as null and read back as NaN).
nlohmann::json to_json(const LossByNoise& event);
LossByNoise loss_by_noise_from_json(const nlohmann::json& event);

} // namespace t2i::train
