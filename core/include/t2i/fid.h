// FID and KID as the CLI and the studio use them (design.md §6): compare two folders of images (or
// saved statistics), save a folder's statistics, say why FID is unavailable. Plain C++ types only;
// the network and the arithmetic live in core/src/eval/.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace t2i::eval {

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
  /// Called after each batch: what is being done, and how far.
  std::function<void(const std::string& stage, std::int64_t done, std::int64_t total)> progress;
  const std::atomic<bool>* cancel = nullptr;  ///< stops after the current batch; nothing is written
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
FidReport compare(const std::string& weights, const std::string& a, const std::string& b,
                  const FolderOptions& options = {});

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
StatsReport save_folder_stats(const std::string& weights, const std::string& folder, const std::string& out,
                              const FolderOptions& options = {});

std::string to_text(const FidReport& report);
std::string to_json(const FidReport& report);
std::string to_json(const StatsReport& report);

} // namespace t2i::eval
