// How one evaluation (validation P2, FID, any loss over fixed items) splits over data-parallel
// ranks: each rank evaluates a disjoint share of the items, with the draws a single process makes
// for them, and the ranks' partial sums meet in an all-reduce, so the result does not depend on
// the number of processes. One process holds every item and its sums stay as they are.
#pragma once

#include "distributed/process_group.h"

#include <torch/torch.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace t2i::train {

class EvaluationShare {
public:
  /// A single process: every item, nothing to reduce.
  EvaluationShare() = default;
  explicit EvaluationShare(distributed::ProcessGroup& group) : group_(&group) {}

  /// [first, last) of `items` that this rank evaluates: contiguous ranges in rank order whose sizes
  /// differ by at most one (an evaluation's item count need not divide by the world size).
  std::pair<std::int64_t, std::int64_t> range(std::int64_t items) const;

  /// Each value summed over the ranks, in place (in float64, as the evaluations accumulate).
  void sum(std::vector<double>& values) const;
  /// The tensor summed over the ranks, in place: e.g. per-item rows that each rank fills for its
  /// share and leaves zero elsewhere, which the sum then gathers exactly.
  void sum(torch::Tensor& tensor) const;

  /// Rank 0, or the only process: the one that scores and records the reduced evaluation.
  bool lead() const { return group_ == nullptr || group_->rank() == 0; }

private:
  distributed::ProcessGroup* group_ = nullptr;
};

} // namespace t2i::train
