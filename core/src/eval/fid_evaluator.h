// What a caller needs to score generated images with FID and KID: the standard Inception network
// on a device, batched feature extraction, reference statistics cached on disk, and the scores.
// The trainer's FID hook and the CLI build on this.
#pragma once

#include "t2i/job.h"

#include "eval/fid.h"
#include "eval/inception.h"
#include "eval/reference_stats.h"

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace t2i::eval {

/// Images fetched batch by batch: images(begin, end) returns [end − begin, 3, H, W], uint8 or
/// floating point in [0, 1], any size (each is resized to 299×299 by the network's own step).
struct ImageSource {
  std::int64_t count = 0;
  std::function<torch::Tensor(std::int64_t begin, std::int64_t end)> images;
};

/// What the reference statistics' feature pass counts (t2i/job.h).
inline constexpr const char* kReferenceStage = "FID reference statistics";

/// Thrown when a cancel token stops feature extraction; nothing was written.
struct FidCancelled : std::runtime_error {
  FidCancelled() : std::runtime_error("FID cancelled") {}
};

/// FID (and KID) of generated features against a reference set.
struct Score {
  FidResult fid;
  std::optional<KidResult> kid;
  std::string warning;    ///< the small-sample warning; empty when N ≥ 2048 on both sides

  /// One line, e.g. "FID 87.3 (32 vs 3000 images, biased at N < 2048), KID 0.0412 ± 0.0051".
  std::string summary() const;
};

class FidEvaluator {
public:
  /// Loads the standard weights file (or a safetensors copy) onto `device`; throws a
  /// TensorFileError naming the file (and the tensor) when it is missing or not the network.
  FidEvaluator(const std::string& weights_path, const std::string& device = "cpu", std::int64_t batch_size = 16);
  explicit FidEvaluator(FidInception network, std::int64_t batch_size = 16);

  /// pool3 features [N, 2048] (float32, CPU) of images [N, 3, H, W] (uint8, or float in [0, 1]),
  /// batch_size images per forward pass.
  torch::Tensor features(const torch::Tensor& images) const;
  /// The same, fetched from `source`: a job counting `stage` after every batch.
  torch::Tensor features(const ImageSource& source, const job::Context& job = {},
                         const std::string& stage = "Inception features") const;

  /// The reference statistics of an image set: read from `cache_path` when it holds this
  /// `identity` made with these weights, otherwise computed from `source` and saved there.
  /// `identity` must change whenever the images do (e.g. the data manifest's hash and the split).
  ReferenceStats reference(const std::string& cache_path, const std::string& identity, const ImageSource& source,
                           const job::Context& job = {}) const;

  /// FID of `features` [N, 2048] against the reference, and KID when `kid` is given (which needs
  /// the reference's features).
  Score score(const torch::Tensor& features, const ReferenceStats& reference,
              const std::optional<KidOptions>& kid = std::nullopt) const;

  const FidInception& network() const { return network_; }
  FidInception& network() { return network_; }
  const std::string& weights_hash() const { return network_.weights_hash(); }
  std::int64_t batch_size() const { return batch_size_; }

private:
  FidInception network_;
  std::int64_t batch_size_;
};

/// The evaluator for `weights_path` on `device`, or nullptr with `unavailable` saying why (no path,
/// no file, not the standard network), naming where the weights come from. Loads the weights once.
std::unique_ptr<FidEvaluator> open_fid_evaluator(const std::string& weights_path, const std::string& device,
                                                 std::string& unavailable);

} // namespace t2i::eval
