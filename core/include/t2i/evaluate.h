// Guidance-scale analysis of a trained checkpoint (the paper's §7.2, measured): samples from a
// split's captions with fixed seeds at each guidance scale, scored by FID and KID against the
// split's images, by the validation P2 loss, and — on the built-in demo dataset — by the demo
// checker's colour, shape and full-caption agreement. Plain C++ types only.
#pragma once

#include "t2i/diffusion.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace t2i::train {

struct GuidanceEvalOptions {
  std::string checkpoint;
  std::string cache_dir;            ///< the prepared dataset; empty = the one the checkpoint's run used
  std::vector<double> scales{5.0, 8.0};
  int samples = 64;                 ///< images per scale, from the split's captions (seeds 0, 1, …)
  std::string split = "val";        ///< val | test
  std::string inception_weights;    ///< empty = FID and KID unavailable (the report says why)
  std::string device = "cpu";
  int steps = 50;
  std::string sampler = diffusion::to_string(diffusion::kDefaultSampler);  ///< ddpm | ddim | dpmpp
  std::string thresholding = "dynamic";  ///< none | static | dynamic
  std::string samples_dir;          ///< where to write the samples as PNGs; empty = not written
};

struct ScaleResult {
  double guidance = 0;
  std::optional<double> fid;
  std::optional<double> kid;
  std::string fid_note;             ///< sample counts and the small-sample bias, or why unavailable
  /// Demo-checker agreement in [0, 1] over samples whose captions use the demo vocabulary.
  std::optional<double> demo_colour;
  std::optional<double> demo_shape;
  std::optional<double> demo_match; ///< every attribute of the caption holds
  /// Mean background grain of the demo samples (t2i/data.h: demo_background_noise), 0–255.
  std::optional<double> demo_background;
  /// Demo samples with no background left to measure: noise or colour everywhere.
  std::int64_t demo_no_background = 0;
  double seconds = 0;               ///< sampling and scoring time at this scale
};

struct GuidanceEvalReport {
  std::string checkpoint;
  std::int64_t step = 0;
  std::string split;
  int samples = 0;
  double val_p2 = 0;                ///< the EMA model's validation P2 loss (independent of the scale)
  /// The same grain measure on the split's own images, the level the samples should reach.
  std::optional<double> data_background;
  std::string fid_status;           ///< why FID is unavailable; empty when computed
  std::vector<ScaleResult> scales;
  bool cancelled = false;
};

/// Runs the analysis; `progress` sees (what, done, total). Throws naming the file and the problem.
GuidanceEvalReport evaluate_guidance(const GuidanceEvalOptions& options,
                                     const std::function<void(const std::string&, std::int64_t, std::int64_t)>& progress = {},
                                     const std::atomic<bool>* cancel = nullptr);

std::string to_table(const GuidanceEvalReport& report);
std::string to_json(const GuidanceEvalReport& report);

} // namespace t2i::train
