// Best-checkpoint selection and early stopping (design.md §7): an evaluation is the new best when
// its validation P2 loss is lower than the best so far and, when selecting by P2 and FID, its FID
// is no worse than the best's (the paper compares both rules, §7.3). Training stops once
// `early_stop` steps have passed without a new best. The trainer keeps one of these and stores
// its state in every checkpoint, so a resumed run goes on choosing the same way.
#pragma once

#include "t2i/train.h"

#include <cstdint>
#include <optional>

namespace t2i::train {

class BestCheckpoint {
public:
  BestCheckpoint(Selection selection, std::optional<std::int64_t> early_stop)
      : selection_(selection), early_stop_(early_stop) {}

  /// The state of a checkpoint being resumed.
  void restore(std::optional<double> val_p2, std::optional<double> fid, std::int64_t step);

  /// Records the evaluation at `step`; true when it becomes the best. A non-finite validation
  /// loss never does; neither does a non-finite FID when selecting by P2 and FID. An evaluation
  /// without FID is judged by its P2 loss alone.
  bool record(std::int64_t step, double val_p2, std::optional<double> fid);

  std::int64_t steps_without_improvement(std::int64_t step) const { return step - step_; }
  /// Steps left at `step` before early stopping; -1 when early stopping is off.
  std::int64_t early_stop_in(std::int64_t step) const;
  /// Whether training stops at `step` for want of improvement (only once there is a best).
  bool early_stop_due(std::int64_t step) const;

  const std::optional<double>& val_p2() const { return val_p2_; }
  const std::optional<double>& fid() const { return fid_; }
  std::int64_t step() const { return step_; }

private:
  Selection selection_;
  std::optional<std::int64_t> early_stop_;
  std::optional<double> val_p2_;
  std::optional<double> fid_;
  std::int64_t step_ = 0;
};

} // namespace t2i::train
