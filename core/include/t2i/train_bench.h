// Benchmarks of the training step and of guided sampling for a preset (`t2i bench train|sample`).
#pragma once

#include "t2i/train.h"

#include <string>

namespace t2i::train {

struct BenchOptions {
  std::string preset = "small";
  std::string device = "cpu";
  int micro_batches = 2;     ///< timed micro-batches (train) after one warm-up
  int images = 1;            ///< images sampled together (sample)
  int steps = 50;            ///< DDIM steps (sample)
  double guidance = 8.0;     ///< CFG scale (sample): guided steps run a batch of 2×images
  std::string precision;     ///< "fp32", "bf16" or empty for the automatic choice
};

/// Training images/s at the preset's micro-batch (forward, backward, AdamW and EMA), with
/// 768-d random text embeddings, and the peak RSS. One JSON object.
std::string bench_train_json(const BenchOptions& options);

/// Seconds per image for `steps` DDIM steps with classifier-free guidance, and the peak RSS.
std::string bench_sample_json(const BenchOptions& options);

struct OverfitCheckOptions {
  int sample_steps = 50;     ///< DDIM steps for the samples
  double guidance = 1.0;     ///< the batch's own captions need no guidance to recall it
};

/// The paper's overfit-one-batch check (§7.1): trains `options` in overfit-one-batch mode, then
/// samples each image's caption and reports the loss at the start and the end (means of 10
/// steps) and, per sample, the pixel MSE to every image of the batch: how many are closest to
/// their own. One JSON object.
std::string bench_overfit_json(const TrainOptions& options, const OverfitCheckOptions& check);

} // namespace t2i::train
