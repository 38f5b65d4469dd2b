#include "train/evaluation_schedule.h"

namespace t2i::train {

bool is_evaluation_step(std::int64_t step, std::int64_t every) {
  if (step <= 0 || every <= 0) return false;
  if (step % every == 0) return true;
  if (step >= every) return false;
  std::int64_t early = kFirstEvaluation;
  while (early < step) early *= 2;
  return early == step;
}

} // namespace t2i::train
