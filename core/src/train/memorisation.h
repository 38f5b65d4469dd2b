// The memorisation curve inside the trainer (t2i/probe_gallery.h, MemorisationCurve): the
// training split's neighbour index opened (built once per dataset when missing), its baseline
// stored once in metrics.jsonl, and each gallery evaluation's final images measured against it.
#pragma once

#include "t2i/job.h"
#include "t2i/neighbours.h"
#include "t2i/probe_gallery.h"

#include "train/run_folder.h"

#include <memory>
#include <string>
#include <vector>

namespace t2i::train {

class MemorisationMeter {
public:
  /// The meter of a run whose data is prepared in `prepared_dir`: opens its neighbour index,
  /// building or completing it first (a job counting its stages), and appends the baseline event
  /// unless metrics.jsonl holds one already (a resumed run). nullptr when the build was
  /// cancelled or the training split has a single image (no train-to-train baseline).
  static std::unique_ptr<MemorisationMeter> start(RunFolder& folder, const std::string& prepared_dir,
                                                  const evaluate::NeighbourOptions& options, const job::Context& job);

  /// Measures `finals` (the gallery's final image per probe) at training step `step` and appends
  /// the "memorisation" event; returns the point.
  MemorisationCurve::Point record(RunFolder& folder, std::int64_t step, const std::vector<Image>& finals) const;

  double threshold() const { return threshold_; }
  const evaluate::NeighbourIndex& index() const { return *index_; }

private:
  MemorisationMeter(std::shared_ptr<const evaluate::NeighbourIndex> index, double threshold)
      : index_(std::move(index)), threshold_(threshold) {}

  std::shared_ptr<const evaluate::NeighbourIndex> index_;
  double threshold_;
};

/// The bins of the stored baseline histogram.
inline constexpr int kMemorisationBins = 20;

} // namespace t2i::train
