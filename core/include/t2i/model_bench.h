// `t2i bench model`: what a preset's U-Net costs on this machine, read against a plain
// convolution measured in the same run.
#pragma once

#include <string>
#include <vector>

namespace t2i::model {

struct ModelBenchOptions {
  std::string preset = "small";  ///< a preset name or a path to a preset file
  int batch = 0;                 ///< images per micro-batch; 0 = the preset's max micro-batch
  int text_length = 0;           ///< text tokens per caption after padding; 0 = the preset's maximum
  int repeats = 3;               ///< timed repetitions per measurement (the median is reported)
  /// Modes to run, each "<precision>[+checkpoint]" with precision fp32 or bf16; empty = all four.
  std::vector<std::string> modes;
  bool channels_last = true;
  bool kernels = true;           ///< also time a plain 3×3 conv for comparison
};

/// Runs the benchmark and returns one JSON object: parameters, counted forward FLOPs per image,
/// and per mode the forward and training-step times, images/s, achieved GFLOP/s, the fraction of
/// the plain conv's GFLOP/s, and peak resident memory.
std::string bench_model_json(const ModelBenchOptions& options);

} // namespace t2i::model
