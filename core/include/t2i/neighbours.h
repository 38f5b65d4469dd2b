// Nearest training images (issue 26): for any generated image, the K training images most like it,
// with their captions, and the train-to-train baseline that says how alike is unusually alike
// (Somepalli et al. 2023 compare each generation with its nearest training image by feature
// cosine similarity against that baseline; Carlini et al. 2023 use pixel ℓ2).
//
// The index of a prepared dataset's training split is built once and stored beside its image cache
// (core/src/eval/neighbour_index.cpp has the file's layout). Features: the FID Inception's pool3
// features compared by cosine similarity when its weights are given and usable, otherwise the
// cached pixels compared by ℓ2 distance; every result says which. Part of the evaluation facade
// (t2i::evaluate), built on the FID base in core/src/eval/ so that the trainer can use it too.
#pragma once

#include "t2i/image.h"
#include "t2i/job.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace t2i::evaluate {

/// How images are compared.
enum class NeighbourMeasure {
  InceptionCosine,  ///< cosine similarity of FID Inception pool3 features: 1 = the same direction
  PixelL2,          ///< ℓ2 distance of the pixels in [0, 1] divided by √(3·S²) (their RMS
                    ///< difference, S the cache's size): 0 = the same image
};

/// "inception-cosine" | "pixel-l2"; parse_neighbour_measure throws std::runtime_error naming the
/// word and the accepted ones.
std::string to_string(NeighbourMeasure measure);
NeighbourMeasure parse_neighbour_measure(const std::string& name);
/// What a value of `measure` is, for tables: "cosine similarity (FID Inception features)" or
/// "pixel ℓ2 distance (RMS, 0–1)".
std::string describe(NeighbourMeasure measure);
/// Whether value `a` of `measure` is closer than value `b` (higher similarity, lower distance).
bool closer(NeighbourMeasure measure, double a, double b);

struct NeighbourOptions {
  /// The FID Inception weights; empty, missing or unusable = pixel ℓ2 (the index says why).
  std::string inception_weights;
  std::string device = "cpu";
  std::int64_t batch_size = 32;  ///< images per Inception forward pass
};

/// One training image near a query.
struct Neighbour {
  std::int64_t index = 0;   ///< its position in the training split
  std::string file_name;    ///< as the caption file gives it
  std::string caption;      ///< its first caption
  double value = 0;         ///< similarity or distance, by the index's measure
};

struct NeighbourBuildReport {
  std::string path;                   ///< the index file
  NeighbourMeasure measure = NeighbourMeasure::PixelL2;
  std::string measure_note;           ///< why pixels were used; empty for Inception features
  std::int64_t images = 0;            ///< training images indexed
  std::int64_t computed = 0;          ///< images whose features this build computed
  std::int64_t reused = 0;            ///< images whose features came from the stored index
  bool baseline_reused = false;       ///< no image changed: the train-to-train neighbours were kept
  double seconds = 0;
  bool cancelled = false;             ///< stopped early: the file left is not a valid index
};

/// The index file of `prepared_dir`'s training split for `measure`.
std::string neighbour_index_path(const std::string& prepared_dir, NeighbourMeasure measure);

/// Builds (or brings up to date) the index of a prepared dataset's training split: features of
/// images already in the stored index (found by their pixels' content) are kept, the others are
/// computed, and each image's nearest other training image is found again only where the images
/// changed. A job (t2i/job.h) counting "neighbour features" and then "train-to-train neighbours";
/// cancelled, the features computed so far are saved in a file marked incomplete, which
/// open_neighbour_index refuses and the next build resumes from. Throws naming the file and the
/// problem (no prepared dataset, an empty training split, a newer index format).
NeighbourBuildReport build_neighbour_index(const std::string& prepared_dir, const NeighbourOptions& options = {},
                                           const job::Context& job = {});

/// A built index, ready to answer queries (thread-safe for concurrent const calls).
class NeighbourIndex {
public:
  ~NeighbourIndex();
  NeighbourIndex(const NeighbourIndex&) = delete;
  NeighbourIndex& operator=(const NeighbourIndex&) = delete;

  NeighbourMeasure measure() const;
  const std::string& measure_note() const;  ///< why pixels were used; empty for Inception
  const std::string& path() const;
  std::int64_t size() const;                ///< training images indexed

  /// The `k` nearest training images of each image (any size; resized to the cache's for
  /// pixels), closest first, ties by index: exact, by brute force over every training image.
  std::vector<std::vector<Neighbour>> nearest(const std::vector<Image>& images, int k) const;

  /// Training image `index` (its position in the split) as the cache holds it. Throws
  /// std::out_of_range for an index outside the split.
  Image training_image(std::int64_t index) const;

  /// Each training image's value to its nearest other training image (the train-to-train
  /// baseline), in split order; empty for a split of one image.
  const std::vector<double>& train_nearest() const;
  /// Each training image's nearest other training image (its index in the split).
  const std::vector<std::int64_t>& train_nearest_index() const;

private:
  friend std::shared_ptr<const NeighbourIndex> open_neighbour_index(const std::string&, const NeighbourOptions&);
  struct Impl;
  explicit NeighbourIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Opens the index of `prepared_dir` for the measure `options` give. Throws a job::Error naming
/// the file when it is missing, incomplete (a cancelled build), of another dataset or another
/// Inception network (build it again), or of a newer format.
std::shared_ptr<const NeighbourIndex> open_neighbour_index(const std::string& prepared_dir,
                                                           const NeighbourOptions& options = {});

/// The index of `prepared_dir`: opened when it is built and current, else built (or completed)
/// first, a job as build_neighbour_index. nullptr when that build was cancelled.
std::shared_ptr<const NeighbourIndex> open_or_build_neighbour_index(const std::string& prepared_dir,
                                                                    const NeighbourOptions& options = {},
                                                                    const job::Context& job = {});

/// Writes `images` (file names) with their `found` neighbours as JSON, atomically:
/// {"measure", "measure_description", "measure_note", "data", "images": [{"file", "neighbours":
/// [{"index", "file_name", "caption", "value"}, …]}, …]}. Throws naming the file on failure.
void write_neighbours_json(const std::string& path, const NeighbourIndex& index, const std::string& data,
                           const std::vector<std::string>& images, const std::vector<std::vector<Neighbour>>& found);

/// The q-quantile of `values` (q in [0, 1]) with linear interpolation between order statistics,
/// as NumPy's default: x₍ⱼ₎ + (h − j)(x₍ⱼ₊₁₎ − x₍ⱼ₎), h = q(n − 1). Throws for no values.
double quantile(std::vector<double> values, double q);

/// The memorisation threshold (Somepalli et al. 2023): the 95th percentile of closeness of the
/// train-to-train nearest values — the 0.95-quantile of similarities, or the 0.05-quantile of
/// distances. A sample whose nearest training image is closer than it is flagged.
inline constexpr double kMemorisationPercentile = 0.95;
double memorisation_threshold(NeighbourMeasure measure, const std::vector<double>& train_nearest,
                              double percentile = kMemorisationPercentile);

/// Equal-width histogram of `values` over [min, max] in `bins` bins (the last bin closed).
struct Histogram {
  double low = 0, high = 0;
  std::vector<std::int64_t> counts;
};
Histogram histogram(const std::vector<double>& values, int bins);

} // namespace t2i::evaluate
