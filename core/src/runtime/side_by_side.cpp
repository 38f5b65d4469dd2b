#include "runtime/side_by_side.h"

#include <ATen/Parallel.h>

#include <omp.h>

#include <exception>
#include <future>

namespace t2i::runtime {
namespace {

// LibTorch's CPU kernels size their OpenMP teams by the calling thread's OpenMP thread count
// (at::get_num_threads() reads it), so setting it per thread splits the cores between the two
// halves. at::set_num_threads would also change the count that every new thread starts with and
// empty oneDNN's cache of compiled kernels.
class ScopedOpenMPThreads {
public:
  // at::get_num_threads() first: a thread's first LibTorch call sets the count LibTorch was given.
  explicit ScopedOpenMPThreads(int threads) : before_(at::get_num_threads()) { omp_set_num_threads(threads); }
  ~ScopedOpenMPThreads() { omp_set_num_threads(before_); }
  ScopedOpenMPThreads(const ScopedOpenMPThreads&) = delete;
  ScopedOpenMPThreads& operator=(const ScopedOpenMPThreads&) = delete;

private:
  int before_;
};

} // namespace

bool side_by_side_available() { return at::get_num_threads() >= 2 && !at::in_parallel_region(); }

void run_side_by_side(const std::function<void()>& first, const std::function<void()>& second) {
  if (!side_by_side_available()) {
    first();
    second();
    return;
  }
  const int threads = at::get_num_threads();
  const int second_threads = threads / 2;
  std::promise<void> second_done;
  auto finished = second_done.get_future();
  // at::launch carries the caller's thread-local state (grad mode, autocast) to the pool thread.
  at::launch([&second, &second_done, second_threads] {
    try {
      const ScopedOpenMPThreads share(second_threads);
      second();
      second_done.set_value();
    } catch (...) {
      second_done.set_exception(std::current_exception());
    }
  });
  std::exception_ptr first_error;
  try {
    const ScopedOpenMPThreads share(threads - second_threads);
    first();
  } catch (...) {
    first_error = std::current_exception();
  }
  finished.wait();  // `second` refers to the caller's frame: it must end before this returns
  if (first_error) std::rethrow_exception(first_error);
  finished.get();
}

} // namespace t2i::runtime
