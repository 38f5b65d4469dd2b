// A parallel loop for decoding work (images are independent; libjpeg and libpng are reentrant).
#pragma once

#include "t2i/job.h"

#include <atomic>
#include <cstddef>
#include <functional>

namespace t2i::data {

/// Calls fn(i) for every i in [0, count) on up to `threads` threads (0 = every available core).
/// Indices not yet started are dropped once `cancel` reads true. The first exception thrown by fn
/// stops the loop and is rethrown on the calling thread.
void parallel_for(std::size_t count, int threads, const std::function<void(std::size_t)>& fn,
                  const job::CancelToken* cancel = nullptr);

/// The thread count parallel_for uses for `threads` (0 = every available core).
int resolve_threads(int threads);

} // namespace t2i::data
