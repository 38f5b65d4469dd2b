#include "interrupt.h"

#include <atomic>

namespace t2i::cli {
namespace {

std::atomic<job::CancelToken*> g_cancel{nullptr};

extern "C" void on_interrupt(int signal) {
  if (job::CancelToken* cancel = g_cancel.load()) cancel->cancel();
  if (signal == SIGINT) std::signal(SIGINT, SIG_DFL);
}

} // namespace

InterruptScope::InterruptScope(job::CancelToken& cancel) {
  cancel.reset();
  g_cancel.store(&cancel);
  previous_int_ = std::signal(SIGINT, on_interrupt);
  previous_term_ = std::signal(SIGTERM, on_interrupt);
}

InterruptScope::~InterruptScope() {
  std::signal(SIGINT, previous_int_);
  std::signal(SIGTERM, previous_term_);
  g_cancel.store(nullptr);
}

} // namespace t2i::cli
