// What a U-Net is (its architecture, which fixes the parameters) and how it runs (precision,
// memory layout, checkpointing: changeable at any time without touching the weights).
#pragma once

#include "t2i/runtime.h"

#include <cstdint>
#include <string>
#include <vector>

namespace t2i::model {

/// Which attention kernel to use. `automatic` picks SDPA where LibTorch has it (>= 2.0) and the
/// hand-written kernel otherwise.
enum class AttentionBackend { automatic, manual, sdpa };

struct ExecutionOptions {
  runtime::Precision precision = runtime::Precision::Float32;  ///< BFloat16 = autocast with fp32 master weights; never Auto
  bool channels_last = false;             ///< NHWC activations and conv weights
  bool checkpoint = false;                ///< recompute each block's activations in backward
  AttentionBackend attention = AttentionBackend::automatic;
};

/// The fastest options measured for a device type ("cpu" or "cuda"): on a CPU with native bf16,
/// bf16 autocast with channels-last activations; fp32 channels-last on other CPUs.
ExecutionOptions default_execution(const std::string& device_type);

std::string to_string(AttentionBackend backend);

/// Imagen's U-Nets (Saharia 2022 §2.3/Appendix B, after Nichol & Dhariwal 2021), sized by these
/// numbers: the base model (text → image), or with `low_res_size` a super-resolution stage (text
/// and a low-resolution image → image, §2.4). Levels run from the highest resolution to the lowest.
struct UNetConfig {
  int64_t image_size = 64;
  int64_t channels = 3;                     ///< image channels in and out
  int64_t dim = 32;                         ///< width of the first level
  std::vector<int64_t> dim_mults{1, 2, 4};  ///< width of level i = dim * dim_mults[i]
  int64_t res_blocks = 2;                   ///< residual blocks per level (down path; up path the same)
  /// Per level, residual blocks overriding res_blocks (the Efficient U-Net puts more of them at
  /// the low resolutions, Appendix B.1); empty: res_blocks at every level.
  std::vector<int64_t> level_res_blocks;
  std::vector<bool> self_attention{false, false, true};   ///< per level: self-attention after each block
  std::vector<bool> cross_attention{false, true, true};   ///< per level: cross-attention after each block
  bool middle_attention = true;             ///< self- and cross-attention in the middle block
  int64_t heads = 4;
  int64_t head_dim = 32;
  int64_t cond_dim = 128;                   ///< width of the text tokens the cross-attention reads
  int64_t text_embed_dim = 768;             ///< width of the text encoder's output (T5-base: 768)
  int64_t time_dim_mult = 4;                ///< time embedding width = dim * time_dim_mult
  double dropout = 0.0;
  bool efficient = false;                   ///< Imagen's Efficient U-Net: downsample before the blocks
  /// Skip connections scaled by 1/√2 before the up path concatenates them (Efficient U-Net,
  /// Appendix B.1). Its own flag, not implied by `efficient`: efficient base models trained
  /// without it must keep computing what they computed.
  bool skip_scale = false;
  /// A super-resolution stage: the side of the low-resolution image it enlarges (32 for 32→64);
  /// 0 for a base model. The stage reads that image upsampled to image_size (diffusion::upsample_low_res)
  /// and noise-augmented to level `aug`, concatenated with x_t, and `aug` itself (§2.3).
  int64_t low_res_size = 0;
  ExecutionOptions execution;

  int64_t levels() const { return static_cast<int64_t>(dim_mults.size()); }
  int64_t level_width(int64_t level) const { return dim * dim_mults[static_cast<size_t>(level)]; }
  int64_t time_dim() const { return dim * time_dim_mult; }
  int64_t blocks_at(int64_t level) const {
    return level_res_blocks.empty() ? res_blocks : level_res_blocks[static_cast<size_t>(level)];
  }
  bool super_resolution() const { return low_res_size > 0; }
  /// Channels of the first convolution's input: x_t, and the low-resolution image beside it.
  int64_t input_channels() const { return super_resolution() ? 2 * channels : channels; }
  /// Side of the feature maps of a level's blocks.
  int64_t level_resolution(int64_t level) const { return image_size >> (efficient ? level + 1 : level); }

  /// Throws std::runtime_error naming the first inconsistent field.
  void validate() const;
};

} // namespace t2i::model
