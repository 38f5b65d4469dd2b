// Loss by noise level (issue 26): one validation number hides which noise levels a model has
// learned, so every evaluation (step 0 included) also measures the EMA model at fixed log-SNR
// levels on a fixed validation subset with fixed noise, and the training loss is kept per log-SNR
// bin between evaluations. Part of the training facade (t2i::train, core/src/train/), in a header
// of its own because the CLI and the Train page read it from run folders without training.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace t2i::train {

/// Fixed validation levels, and training bins, spanning the schedule's log-SNR range.
inline constexpr int kValidationNoiseLevels = 8;
inline constexpr int kTrainingLossBins = 20;

/// One evaluation's loss by noise level: metrics.jsonl's "loss_by_noise" event.
struct LossByNoise {
  std::int64_t step = 0;
  double p2_k = 1.0;      ///< the run's P2 weighting 1/(k + SNR)^γ, for the weight curve
  double p2_gamma = 0.5;

  /// The deterministic validation: per level, lowest log-SNR (noisiest) first.
  std::vector<double> level_log_snr;
  std::vector<double> level_t;    ///< the diffusion time each level was evaluated at
  std::vector<double> val_p2;     ///< mean P2-weighted loss of the validation subset
  std::vector<double> val_mse;    ///< the same, unweighted
  std::int64_t val_images = 0;

  /// The training steps since the previous evaluation, by log-SNR bin (of this process: in a
  /// data-parallel run, rank 0's share of each batch).
  std::vector<double> bin_edges;  ///< kTrainingLossBins + 1 log-SNR edges, ascending
  std::vector<double> train_p2;   ///< mean P2-weighted loss per bin; NaN where the bin drew no sample
  std::vector<double> train_mse;
  std::vector<std::int64_t> train_count;
};

/// Every "loss_by_noise" event of a run folder, in file order. Empty for runs whose metrics have
/// none (t2i-studio 0.1.0's); throws like read_history when `run_dir` is not a run.
std::vector<LossByNoise> read_loss_by_noise(const std::string& run_dir);

/// The P2 weight 1/(k + SNR)^γ at log-SNR λ (SNR = e^λ), for plotting beside a log-SNR axis.
double p2_weight_at(double log_snr, double k, double gamma);

/// What a loss-by-noise grid shows.
enum class LossGridSource {
  ValidationP2,   ///< rows: evaluations; columns: validation levels
  ValidationMse,
  TrainingP2,     ///< rows: evaluations; columns: training bins
  TrainingMse,
  Divergence,     ///< rows: evaluations; columns: validation levels; divergence() of each
};

/// Rows of values over steps, columns over log-SNR: what the CLI's table and the heatmap show.
struct LossGrid {
  std::vector<std::int64_t> steps;            ///< one per row
  std::vector<double> log_snr;                ///< one per column: a level, or a bin's centre
  std::vector<std::vector<double>> values;    ///< [row][column]; NaN where nothing was measured
};

/// The grid of `source` over `events`. With `relative_to_first`, each column is divided by its
/// first finite value (step 0's, for the validation), so 1 means "as at the start".
LossGrid loss_grid(const std::vector<LossByNoise>& events, LossGridSource source, bool relative_to_first = false);

/// Validation − training per level of one event: val_p2 minus the training bin that holds the
/// level's log-SNR (NaN when that bin is empty). Positive when the model does better on what it
/// trains on than on held-out images at that noise level.
std::vector<double> divergence(const LossByNoise& event);

} // namespace t2i::train
