#include "train/best_checkpoint.h"

#include <algorithm>
#include <cmath>

namespace t2i::train {

void BestCheckpoint::restore(std::optional<double> val_p2, std::optional<double> fid, std::int64_t step) {
  val_p2_ = val_p2;
  fid_ = fid;
  step_ = step;
}

bool BestCheckpoint::record(std::int64_t step, double val_p2, std::optional<double> fid) {
  if (!std::isfinite(val_p2) || (val_p2_ && !(val_p2 < *val_p2_))) return false;
  if (selection_ == Selection::ValP2AndFid && fid) {
    if (!std::isfinite(*fid) || (fid_ && *fid > *fid_)) return false;
  }
  val_p2_ = val_p2;
  // A best without FID keeps the last FID that was compared against.
  if (fid && std::isfinite(*fid)) fid_ = fid;
  step_ = step;
  return true;
}

std::int64_t BestCheckpoint::early_stop_in(std::int64_t step) const {
  if (!early_stop_) return -1;
  return std::max<std::int64_t>(0, *early_stop_ - steps_without_improvement(step));
}

bool BestCheckpoint::early_stop_due(std::int64_t step) const {
  return early_stop_ && val_p2_ && steps_without_improvement(step) >= *early_stop_;
}

} // namespace t2i::train
