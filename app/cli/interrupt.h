// Ctrl-C for long commands: while an InterruptScope lives, SIGINT and SIGTERM set the command's
// cancel flag, so the job stops at its next safe point and saves what it has (training writes a
// checkpoint, cache builds resume later); a second Ctrl-C ends the process at once.
#pragma once

#include <atomic>
#include <csignal>

namespace t2i::cli {

class InterruptScope {
public:
  /// Clears `cancel` and routes the signals to it until destruction restores the previous handlers.
  explicit InterruptScope(std::atomic<bool>& cancel);
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

private:
  using Handler = void (*)(int);
  Handler previous_int_;
  Handler previous_term_;
};

} // namespace t2i::cli
