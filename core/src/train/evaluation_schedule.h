// When a run evaluates (validation P2, FID, a checkpoint) and previews samples: early and then
// spaced out, so a new user sees the first validation point and sample grid within a minute on
// the demo preset instead of after eval_every steps (~7 minutes on two cores).
#pragma once

#include <cstdint>

namespace t2i::train {

/// The first early evaluation; the next ones double it while they stay below `every`.
inline constexpr std::int64_t kFirstEvaluation = 25;

/// Steps 25, 50, 100, 200, … below `every`, then every `every` steps. Step 0 is never one.
bool is_evaluation_step(std::int64_t step, std::int64_t every);

} // namespace t2i::train
