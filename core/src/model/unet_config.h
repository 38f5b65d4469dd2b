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

/// Imagen's base U-Net (Saharia 2022 §2.3/Appendix B, after Nichol & Dhariwal 2021), sized by
/// these numbers. Levels run from the highest resolution to the lowest.
struct UNetConfig {
  int64_t image_size = 64;
  int64_t channels = 3;                     ///< image channels in and out
  int64_t dim = 32;                         ///< width of the first level
  std::vector<int64_t> dim_mults{1, 2, 4};  ///< width of level i = dim * dim_mults[i]
  int64_t res_blocks = 2;                   ///< residual blocks per level (down path; up path the same)
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
  ExecutionOptions execution;

  int64_t levels() const { return static_cast<int64_t>(dim_mults.size()); }
  int64_t level_width(int64_t level) const { return dim * dim_mults[static_cast<size_t>(level)]; }
  int64_t time_dim() const { return dim * time_dim_mult; }
  /// Side of the feature maps of a level's blocks.
  int64_t level_resolution(int64_t level) const { return image_size >> (efficient ? level + 1 : level); }

  /// Throws std::runtime_error naming the first inconsistent field.
  void validate() const;
};

} // namespace t2i::model
