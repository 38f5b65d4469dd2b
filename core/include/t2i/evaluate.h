// Evaluation as the CLI and the studio use it (design.md §6), in plain C++ types; header, namespace
// and folder (core/src/evaluate/, on the FID base in core/src/eval/) share the name.
// - FID and KID: compare two folders of images (or saved statistics), save a folder's statistics,
//   say why FID is unavailable.
// - The guidance-scale analysis of a trained checkpoint (the paper's §7.2, measured): samples from
//   a split's captions with fixed seeds at each guidance scale, scored by FID and KID against the
//   split's images, by the validation P2 loss, and — on the built-in demo dataset — by the demo
//   checker's colour, shape and full-caption agreement.
// - A super-resolution stage's PSNR against bicubic enlargement on held-out images.
#pragma once

#include "t2i/data.h"
#include "t2i/diffusion.h"
#include "t2i/job.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace t2i::evaluate {

/// Why FID cannot be computed with this Inception weights file (no path given, file missing, not
/// the standard network's layout), with where the file comes from; empty when it can.
std::string fid_unavailable_reason(const std::string& weights_path);

/// How to get the standard weights: the file name and the pytorch-fid release it comes from.
std::string inception_weights_hint();

struct FidResult {
  double fid = 0;
  std::int64_t count_a = 0;  ///< samples behind each side's statistics (0 = unknown)
  std::int64_t count_b = 0;
  /// Fewer samples than feature dimensions on a side: the covariance is rank-deficient and FID
  /// biased upwards, comparable only with FID at the same sample counts (prefer KID there).
  bool small_sample = false;
};

struct KidOptions {
  std::int64_t subsets = 100;       ///< random subset pairs averaged (torch-fidelity's default)
  std::int64_t subset_size = 1000;  ///< m, capped at the smaller set's size
  std::uint64_t seed = 0;           ///< fixes the subsets
  /// The three kernel matrices are computed once over all features when N1² + N2² + N1·N2 fits
  /// this many float64 entries (512 MiB), else per subset.
  std::int64_t max_kernel_entries = std::int64_t{1} << 26;
};

struct KidResult {
  double mean = 0;  ///< KID: the mean of the subsets' unbiased MMD² estimates
  double std = 0;   ///< their standard deviation (population, as the reference implementations)
  std::int64_t subsets = 0;
  std::int64_t subset_size = 0;
};

struct FolderOptions {
  std::string device = "cpu";     ///< "cpu" or "cuda[:N]"
  std::int64_t batch_size = 16;   ///< images per Inception forward pass
  bool kid = false;               ///< also compute KID (needs features on both sides)
  KidOptions kid_options;
};

struct FidReport {
  std::string a, b;             ///< the folders or statistics files compared
  FidResult fid;
  std::optional<KidResult> kid;
  std::string warning;          ///< the small-sample warning; empty when FID is not biased by N
  std::string weights_hash;     ///< the Inception weights' content hash
  double feature_seconds = 0;   ///< Inception feature extraction, both sides
  double distance_seconds = 0;  ///< statistics, FID and KID
  bool cancelled = false;
};

/// FID (and KID when asked) between `a` and `b`, each a folder of PNG/JPEG images (any size; not
/// recursive) or a statistics file written by save_folder_stats. Throws naming the file and the
/// problem (unreadable image, statistics from other Inception weights, KID without features).
/// A job (t2i/job.h): counts the images of side "A", then "B", after each batch; cancelled, it
/// returns with nothing computed.
FidReport compare(const std::string& weights, const std::string& a, const std::string& b,
                  const FolderOptions& options = {}, const job::Context& job = {});

struct StatsReport {
  std::string path;             ///< the statistics file written
  std::string folder;
  std::int64_t count = 0;       ///< images
  std::string identity;         ///< the image set's identity stored in the file
  std::string weights_hash;
  double seconds = 0;
  bool cancelled = false;       ///< stopped early: nothing was written
};

/// Computes the Inception features of a folder's images and saves μ, Σ and the features (for KID)
/// to `out` (safetensors), naming the weights' hash and the folder's identity in its metadata.
/// A job (t2i/job.h) counting "images"; cancelled, nothing is written.
StatsReport save_folder_stats(const std::string& weights, const std::string& folder, const std::string& out,
                              const FolderOptions& options = {}, const job::Context& job = {});

std::string to_text(const FidReport& report);
std::string to_json(const FidReport& report);
std::string to_json(const StatsReport& report);


struct GuidanceEvalOptions {
  std::string checkpoint;
  std::string cache_dir;            ///< the prepared dataset; empty = the one the checkpoint's run used
  std::vector<double> scales{5.0, 8.0};
  int samples = 64;                 ///< images per scale, from the split's captions (seeds 0, 1, …)
  data::Split split = data::Split::Val;  ///< Val or Test
  std::string inception_weights;    ///< empty = FID and KID unavailable (the report says why)
  std::string device = "cpu";
  int steps = 50;
  diffusion::SamplerKind sampler = diffusion::kDefaultSampler;
  diffusion::ThresholdKind thresholding = diffusion::ThresholdKind::Dynamic;
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

/// The prepared dataset a checkpoint's model was trained on: `data_dir` when given (the prepared
/// folder or the run data folder above it), else the data folder of the checkpoint's run, as the
/// trainer chose it. Throws naming the checkpoint when its header cannot be read.
std::string training_data_folder(const std::string& checkpoint, const std::string& data_dir = {});
/// As above, but when that folder holds no prepared data and the checkpoint was trained on the
/// built-in demo dataset (its stored options say so, or it stores none: an exported model such as
/// the shipped demo model), the demo dataset is written again, deterministic from those options,
/// into train::cache_folder under `demo_cache_root` (a job as train::prepare_data), and used only
/// when its manifest is the one the checkpoint trained on (else it throws saying so). A `data_dir`
/// given is never replaced. Empty when the job was cancelled.
std::string training_data_folder(const std::string& checkpoint, const std::string& data_dir,
                                 const std::string& demo_cache_root, const job::Context& job);

/// Runs the analysis, a job (t2i/job.h) counting "validation P2", "FID reference statistics" and
/// "guidance <w>" in turn. Throws naming the file and the problem.
GuidanceEvalReport evaluate_guidance(const GuidanceEvalOptions& options, const job::Context& job = {});

std::string to_table(const GuidanceEvalReport& report);
std::string to_json(const GuidanceEvalReport& report);

/// Whether a checkpoint holds a super-resolution stage (its preset's low_res_size > 0). Throws
/// naming the file when it is not a readable checkpoint.
bool is_super_resolution_checkpoint(const std::string& checkpoint);

/// A super-resolution stage against bicubic enlargement (issue 27): on held-out images of a
/// split, each box-downsampled to the stage's input size (as in training), the PSNR of the
/// stage's output and of the bicubic enlargement that is its conditioning (before augmentation)
/// against the image itself.
struct SuperResolutionEvalOptions {
  std::string checkpoint;
  std::string cache_dir;            ///< the prepared dataset; empty = the one the checkpoint's run used
  data::Split split = data::Split::Test;  ///< Val or Test
  int images = 64;                  ///< the split's first images (seeds 0, 1, …), at most all of them
  std::vector<double> scales;       ///< guidance scales; empty = the preset's cond_scale
  std::optional<double> aug;        ///< noise augmentation level in [0, 1]; unset = the preset's sample_aug
  std::string device = "cpu";
  int steps = 50;
  diffusion::SamplerKind sampler = diffusion::kDefaultSampler;
  diffusion::ThresholdKind thresholding = diffusion::ThresholdKind::Dynamic;
  std::string samples_dir;          ///< where to write the stage's outputs as PNGs; empty = not written
};

struct SuperResolutionScale {
  double guidance = 0;
  double psnr = 0;                  ///< mean over the images of each one's PSNR (dB)
  double seconds = 0;
};

struct SuperResolutionEvalReport {
  std::string checkpoint;
  std::int64_t step = 0;
  std::string split;
  int images = 0;
  int low_res_size = 0;
  int image_size = 0;
  double aug = 0;
  int steps = 0;
  double bicubic_psnr = 0;          ///< mean PSNR (dB) of the bicubic enlargement
  std::vector<SuperResolutionScale> scales;
  bool cancelled = false;
};

/// Runs the comparison, a job (t2i/job.h) counting "guidance <w>" per scale. Throws naming the
/// file and the problem (not a super-resolution stage, no cache at its size, an empty split).
SuperResolutionEvalReport evaluate_super_resolution(const SuperResolutionEvalOptions& options, const job::Context& job = {});

std::string to_table(const SuperResolutionEvalReport& report);
std::string to_json(const SuperResolutionEvalReport& report);

} // namespace t2i::evaluate
