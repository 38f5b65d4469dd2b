// The trainer's window onto FID: given a way to generate validation samples, score them against
// the validation images. Unavailable (with the reason) when no Inception weights are configured.
#pragma once

#include "t2i/job.h"

#include "data/prepared_dataset.h"
#include "eval/fid_evaluator.h"
#include "train/evaluation_share.h"

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace t2i::train {

struct FidScores {
  double fid = 0;
  std::optional<double> kid;
  std::string note;  ///< e.g. the small-sample bias warning
};

/// Generates `count` validation samples starting at `first` as images [n, 3, S, S] in [−1, 1].
using SampleBatch = std::function<torch::Tensor(std::int64_t first, std::int64_t count)>;

class FidHook {
public:
  virtual ~FidHook() = default;
  /// Samples to score per evaluation.
  virtual std::int64_t samples() const = 0;
  /// Scores the samples `generate` makes, batch by batch; an exception it throws (a cancelled
  /// sampler) ends the pass. Data-parallel ranks each generate their `share` of the samples and
  /// pool the features; the lead scores them (the others' scores are empty).
  virtual FidScores score(const SampleBatch& generate, const EvaluationShare& share = {}) = 0;
};

/// The Inception statistics of a prepared split's images, read from `folder` when they were made
/// from the same images with the same weights, else computed and cached there. Shared by the
/// trainer's hook and the guidance-scale analysis so both compare against the same file. The
/// images are the cache's at `image_size` (a super-resolution stage's output size; 0 = S).
eval::ReferenceStats split_reference(const eval::FidEvaluator& evaluator, const data::PreparedDataset& dataset,
                                     data::Split split, const std::string& folder, int image_size = 0,
                                     const job::Context& job = {});

/// The hook for a run, or nullptr with `status` saying why FID is unavailable.
/// The validation images' reference statistics (at `image_size`, 0 = S) are computed once and cached in `cache_dir`,
/// a job (t2i/job.h) whose cancel token stops that pass within one batch (eval::FidCancelled).
std::unique_ptr<FidHook> make_fid_hook(const std::string& inception_weights, const std::string& device,
                                       std::int64_t samples, const data::PreparedDataset& dataset, int image_size,
                                       const std::string& cache_dir, std::string& status,
                                       const job::Context& job = {});

} // namespace t2i::train
