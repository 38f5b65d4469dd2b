// train::estimate_resources: the parameter count and an estimate of training's peak memory,
// known before a run starts (t2i/train.h).
#include "t2i/train.h"

#include "train/resource_estimate.h"

#include "model/preset_config.h"
#include "model/unet.h"
#include "text/learned_encoder.h"
#include "text/t5_encoder.h"

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <vector>

namespace t2i::train {
namespace {

namespace fs = std::filesystem;

constexpr double kMiB = 1024.0 * 1024.0;

// Fitted to `t2i bench model --modes bf16|fp32 --batch 1|2|4|8|32` on demo, small and full
// (peak RSS, 2026-12-07; within 6% of each): the peaks grow linearly with the micro-batch, and
// what is left at no images grows with the parameters.
constexpr double kRuntimeBytes = 200.0 * kMiB;  // the intercept: LibTorch and the process, no tensors
// fp32 weights, gradients and AdamW's two moments (16 bytes), and under bf16 autocast the bf16
// weight copies it caches for the pass and their bf16 gradients.
constexpr double kStateBytesFp32 = 16.0;
constexpr double kStateBytesBf16 = 19.0;
constexpr double kEmaBytes = 4.0;  // the trainer's averaged fp32 copy
// Bytes held per value of every block's output (width × pixels, per level and block) at the
// backward's peak: the saved inputs of the norms, convolutions and activations and the
// gradients in flight.
constexpr double kFeatureBytesFp32 = 74.0;
constexpr double kFeatureBytesBf16 = 32.0;
// Values of its output that one block holds at once when it runs without gradients (its input,
// the norm's and the convolutions' outputs): an upper bound, not measured.
constexpr double kBlockWorkingValues = 9.0;

std::uint64_t folder_bytes(const std::string& folder) {
  std::uint64_t bytes = 0;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(folder, error)) {
    const std::string ext = entry.path().extension().string();
    if (ext == ".safetensors" || ext == ".bin") bytes += entry.file_size(error);
  }
  return bytes;
}

/// One resolution's share of a pass, per image, in values.
struct LevelActivations {
  std::int64_t blocks = 0;  ///< residual blocks run there, forward (down and up path)
  double outputs = 0;       ///< one block's output
  double attention = 0;     ///< one block's attention logits: heads × tokens² (self), heads × tokens × keys (cross)
  double skips = 0;         ///< the down path's outputs the up path concatenates later
};

/// The levels of `unet`, and for an Efficient U-Net (which downsamples first, so no level runs at
/// the full resolution) the full resolution's input convolution and final block.
std::vector<LevelActivations> level_activations(const model::UNetConfig& unet, std::int64_t text_length) {
  std::vector<LevelActivations> out;
  for (std::int64_t level = 0; level < unet.levels(); ++level) {
    const double r = static_cast<double>(unet.level_resolution(level));
    const double tokens = r * r;
    const double heads = static_cast<double>(unet.heads);
    LevelActivations a;
    a.blocks = 2 * unet.blocks_at(level) + 1;
    a.outputs = static_cast<double>(unet.level_width(level)) * tokens;
    if (unet.self_attention[static_cast<size_t>(level)]) a.attention += heads * tokens * tokens;
    // The cross-attention's keys: the text and the null key.
    if (unet.cross_attention[static_cast<size_t>(level)]) a.attention += heads * tokens * static_cast<double>(text_length + 1);
    a.skips = static_cast<double>(unet.blocks_at(level)) * a.outputs;
    out.push_back(a);
  }
  if (unet.efficient) {
    const double side = static_cast<double>(unet.image_size);
    LevelActivations full;
    full.blocks = 1;
    full.outputs = static_cast<double>(unet.dim) * side * side;
    full.skips = full.outputs;  // the input convolution's output, which the final block reads
    out.push_back(full);
  }
  return out;
}

} // namespace

TrainingMemory training_memory(const model::UNetConfig& unet, std::int64_t text_length, std::int64_t parameters,
                               std::int64_t micro_batch, bool bf16, bool checkpointing, bool ema) {
  // Per image: every block's output values, and the attention maps' logits kept in the
  // activations' precision where a level attends. Checkpointed, one block's activations per
  // level live at a time.
  double features = 0, maps = 0;
  for (const LevelActivations& level : level_activations(unet, text_length)) {
    const double blocks = checkpointing ? 1.0 : static_cast<double>(level.blocks);
    features += blocks * level.outputs;
    maps += blocks * level.attention;
  }
  const double per_image = features * (bf16 ? kFeatureBytesBf16 : kFeatureBytesFp32) + maps * (bf16 ? 2.0 : 4.0);
  TrainingMemory memory;
  memory.state = static_cast<double>(parameters) * ((bf16 ? kStateBytesBf16 : kStateBytesFp32) + (ema ? kEmaBytes : 0.0));
  memory.activations = per_image * static_cast<double>(micro_batch);
  memory.runtime = kRuntimeBytes;
  return memory;
}

ResourceEstimate estimate_resources(const model::Preset& preset, const TrainOptions& options) {
  std::int64_t text_width = preset.text_encoder.learned_width;
  std::int64_t text_parameters = 0;
  std::uint64_t t5_bytes = 0;
  if (!options.t5_dir.empty()) {
    text_width = text::T5Config::from_file((fs::path(options.t5_dir) / "config.json").string()).d_model;
    t5_bytes = folder_bytes(options.t5_dir);
  } else {
    text::LearnedEncoderConfig config;
    config.vocab_size = preset.text_encoder.learned_vocab_size;
    config.max_len = preset.max_text_length;
    config.width = preset.text_encoder.learned_width;
    config.layers = preset.text_encoder.learned_layers;
    config.heads = preset.text_encoder.learned_heads;
    for (const auto& p : text::LearnedTextTransformer(config)->parameters()) text_parameters += p.numel();
  }
  const model::UNetConfig unet = model::unet_config(preset, text_width);
  const std::int64_t unet_parameters = model::UNet(unet)->parameter_count();

  ResourceEstimate estimate;
  estimate.parameters = unet_parameters + text_parameters;
  const bool bf16 = options.precision == runtime::Precision::BFloat16 ||
                    (options.precision == runtime::Precision::Auto &&
                     model::default_execution("cpu").precision == runtime::Precision::BFloat16);
  const std::int64_t micro = options.overfit_one_batch ? std::min(options.overfit_images, preset.max_batch_size)
                                                       : preset.max_batch_size;
  const TrainingMemory memory = training_memory(unet, preset.max_text_length, estimate.parameters, micro, bf16,
                                                options.activation_checkpointing, /*ema=*/true);
  const double t5 = static_cast<double>(t5_bytes);
  estimate.peak_bytes = memory.peak_bytes() + t5_bytes;

  // Sampling one image with classifier-free guidance (a batch of 2) in fp32, without gradients:
  // the sampling weights once, the skip connections the up path waits for, and the largest
  // block's own working set (as much as training keeps of it: an upper bound).
  double skips = 0, largest_block = 0;
  for (const LevelActivations& level : level_activations(unet, preset.max_text_length)) {
    skips += level.skips;
    largest_block = std::max(largest_block, kBlockWorkingValues * level.outputs + level.attention);
  }
  const double sample_activations = 2.0 * 4.0 * (skips + largest_block);
  const double sample_weights = 4.0 * static_cast<double>(estimate.parameters);
  estimate.sample_peak_bytes = static_cast<std::uint64_t>(kRuntimeBytes + sample_weights + sample_activations + t5);

  std::ostringstream text;
  text.precision(0);
  text << std::fixed << "weights, gradients, AdamW moments and EMA " << memory.state / kMiB << " MiB; activations of a "
       << micro << "-image micro-batch " << memory.activations / kMiB << " MiB"
       << (options.activation_checkpointing ? " (checkpointed)" : "");
  if (t5_bytes > 0) text << "; frozen T5 weights " << t5 / kMiB << " MiB";
  text << "; runtime " << memory.runtime / kMiB << " MiB. Sampling one guided image: weights "
       << sample_weights / kMiB << " MiB, activations " << sample_activations / kMiB << " MiB";
  estimate.breakdown = text.str();
  return estimate;
}

} // namespace t2i::train
