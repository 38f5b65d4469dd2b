// Training's peak resident memory from the network's shape, fitted to `t2i bench model`'s
// measured peaks (which print it beside them: estimated_peak_rss_bytes).
#pragma once

#include "model/unet_config.h"

#include <cstdint>

namespace t2i::train {

struct TrainingMemory {
  double state = 0;        ///< per parameter: weights, gradients, AdamW moments, autocast's bf16 copies, EMA
  double activations = 0;  ///< what the micro-batch's forward keeps for the backward, at its peak
  double runtime = 0;      ///< LibTorch and the process before any tensor
  std::uint64_t peak_bytes() const { return static_cast<std::uint64_t>(state + activations + runtime); }
};

/// The peak of a training step of `unet` (with `parameters` trainable values, texts of
/// `text_length` tokens) at `micro_batch` images; `ema` adds the averaged copy the trainer keeps.
TrainingMemory training_memory(const model::UNetConfig& unet, std::int64_t text_length, std::int64_t parameters,
                               std::int64_t micro_batch, bool bf16, bool checkpointing, bool ema);

} // namespace t2i::train
