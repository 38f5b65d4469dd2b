#include "interrupt.h"

namespace t2i::cli {
namespace {

std::atomic<std::atomic<bool>*> g_cancel{nullptr};

extern "C" void on_interrupt(int signal) {
  if (std::atomic<bool>* cancel = g_cancel.load()) cancel->store(true);
  if (signal == SIGINT) std::signal(SIGINT, SIG_DFL);
}

} // namespace

InterruptScope::InterruptScope(std::atomic<bool>& cancel) {
  cancel.store(false);
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
