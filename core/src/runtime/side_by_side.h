// Two pieces of LibTorch work at once, each with its share of the intra-op threads.
#pragma once

#include <functional>

namespace t2i::runtime {

/// Whether run_side_by_side would run its two pieces at once here: two or more intra-op threads,
/// outside a parallel region.
bool side_by_side_available();

/// Runs `first` on the calling thread and `second` on one of LibTorch's inter-op threads at the
/// same time, each with half of the calling thread's intra-op threads (`first` gets the odd one),
/// and returns when both have. With fewer than two intra-op threads, or inside a parallel region,
/// it runs them one after the other. Rethrows what `first`, else `second`, threw. `second` sees
/// the caller's grad mode and autocast state.
void run_side_by_side(const std::function<void()>& first, const std::function<void()>& second);

} // namespace t2i::runtime
