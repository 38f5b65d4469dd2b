// train::estimate_resources: the parameter count and an estimate of training's peak memory,
// known before a run starts (t2i/train.h).
#include "t2i/train.h"

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
constexpr std::uint64_t kRuntimeBytes = 350ull << 20;  // LibTorch, Qt and the process itself, measured at idle
// Tensors a residual block keeps for its backward pass, in multiples of its output (GroupNorm,
// SiLU, two convolutions, scale-and-shift, the residual): counted from the block's forward.
constexpr double kSavedPerBlock = 9.0;

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
  double attention = 0;     ///< one block's attention maps: heads × tokens² (self), heads × tokens × text (cross)
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
    if (unet.self_attention[static_cast<size_t>(level)]) a.attention += 2.0 * heads * tokens * tokens;
    if (unet.cross_attention[static_cast<size_t>(level)]) a.attention += 2.0 * heads * tokens * static_cast<double>(text_length);
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
  // fp32 weights, gradients, AdamW's two moments and the EMA copy: five copies of every parameter.
  const double state = 5.0 * 4.0 * static_cast<double>(estimate.parameters);

  // Saved activations per image: every block's output, times what the block keeps, per level,
  // plus the attention maps (heads × tokens²) where a level attends.
  const bool bf16 = options.precision == runtime::Precision::BFloat16;
  const double bytes_per_value = bf16 ? 3.0 : 4.0;  // bf16 autocast keeps fp32 copies of some inputs
  double values = 0;
  for (const LevelActivations& level : level_activations(unet, preset.max_text_length)) {
    const double blocks = static_cast<double>(level.blocks);
    // Checkpointed, one block's activations per level live at a time.
    values += (options.activation_checkpointing ? 1.0 : blocks) * (kSavedPerBlock * level.outputs + level.attention);
  }
  const double micro = static_cast<double>(options.overfit_one_batch ? std::min(options.overfit_images, preset.max_batch_size)
                                                                      : preset.max_batch_size);
  const double activations = values * bytes_per_value * micro;
  const double t5 = static_cast<double>(t5_bytes);
  estimate.peak_bytes = kRuntimeBytes + static_cast<std::uint64_t>(state + activations + t5);

  // Sampling one image with classifier-free guidance (a batch of 2) in fp32, without gradients:
  // the sampling weights once, the skip connections the up path waits for, and the largest
  // block's own working set (as much as training keeps of it: an upper bound).
  double skips = 0, largest_block = 0;
  for (const LevelActivations& level : level_activations(unet, preset.max_text_length)) {
    skips += level.skips;
    largest_block = std::max(largest_block, kSavedPerBlock * level.outputs + level.attention);
  }
  const double sample_activations = 2.0 * 4.0 * (skips + largest_block);
  const double sample_weights = 4.0 * static_cast<double>(estimate.parameters);
  estimate.sample_peak_bytes = kRuntimeBytes + static_cast<std::uint64_t>(sample_weights + sample_activations + t5);

  std::ostringstream text;
  text.precision(0);
  text << std::fixed << "weights, gradients, AdamW moments and EMA " << state / kMiB << " MiB; activations of a "
       << micro << "-image micro-batch " << activations / kMiB << " MiB" << (options.activation_checkpointing ? " (checkpointed)" : "");
  if (t5_bytes > 0) text << "; frozen T5 weights " << t5 / kMiB << " MiB";
  text << "; runtime " << static_cast<double>(kRuntimeBytes) / kMiB << " MiB. Sampling one guided image: weights "
       << sample_weights / kMiB << " MiB, activations " << sample_activations / kMiB << " MiB";
  estimate.breakdown = text.str();
  return estimate;
}

} // namespace t2i::train
