// The validation P2 loss of the paper's protocol (§7): the EMA model's weighted loss over fixed
// batches with fixed noise and timesteps, so every evaluation of a run, and every checkpoint
// evaluated later, is measured on the same draw.
#pragma once

#include "t2i/job.h"

#include "data/batch_loader.h"
#include "data/prepared_dataset.h"
#include "diffusion/loss.h"
#include "sample/text_to_image_model.h"
#include "train/evaluation_share.h"

#include <atomic>
#include <memory>
#include <optional>

namespace t2i::train {

/// Mean weighted loss over `batches` batches of `batch_size` from `split` (or over `fixed` alone,
/// the overfit-one-batch mode), `micro` images per forward pass. NaN when cancelled before any.
/// Data-parallel ranks each evaluate their `share` of the items and all return the same mean (a
/// cancel token would let one rank stop alone: pass none there). Images come from the dataset's
/// cache at the model's size; a super-resolution stage sees each image's own low-resolution
/// version at the preset's sample_aug, its augmentation noise fixed like the loss's.
double validation_p2(sample::TextToImageModel& model, const diffusion::DiffusionLoss& loss,
                     const std::shared_ptr<const data::PreparedDataset>& dataset, data::Split split,
                     std::int64_t batches, std::int64_t batch_size, std::int64_t micro,
                     const std::optional<data::Batch>& fixed = std::nullopt, const job::CancelToken* cancel = nullptr,
                     const EvaluationShare& share = {});

/// The loss a model's preset trains with: P2 weighting with its k and γ (§5.3).
diffusion::DiffusionLoss p2_loss(const model::Preset& preset);

} // namespace t2i::train
