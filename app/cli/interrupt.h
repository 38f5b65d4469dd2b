// Ctrl-C for long commands: while an InterruptScope lives, SIGINT and SIGTERM set the command's
// cancel token, so the job stops at its next safe point and saves what it has (training writes a
// checkpoint, cache builds resume later); a second Ctrl-C ends the process at once.
#pragma once

#include "t2i/job.h"

#include <csignal>

namespace t2i::cli {

class InterruptScope {
public:
  /// Clears `cancel` and routes the signals to it until destruction restores the previous handlers.
  explicit InterruptScope(job::CancelToken& cancel);
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

private:
  using Handler = void (*)(int);
  Handler previous_int_;
  Handler previous_term_;
};

} // namespace t2i::cli
