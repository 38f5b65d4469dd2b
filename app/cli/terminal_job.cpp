#include "terminal_job.h"

#include <iostream>
#include <unistd.h>

namespace t2i::cli {

ProgressLine::ProgressLine() : terminal_(::isatty(STDERR_FILENO) != 0) {}

void ProgressLine::show(const std::string& text, bool keep) {
  if (terminal_)
    std::cerr << "\r\033[K" << text << (keep ? "\n" : "") << std::flush;
  else if (keep)
    std::cerr << text << "\n" << std::flush;
}

TerminalJob::TerminalJob() : interrupt_(cancel_) {
  context_.cancel = &cancel_;
  context_.on_progress = [this](const job::Progress& progress) { show(progress); };
}

void TerminalJob::show(const job::Progress& progress) {
  if (progress.stage.empty()) {
    if (!progress.message.empty()) line_.show(progress.message, true);
    return;
  }
  const bool finished = progress.total > 0 && progress.done >= progress.total;
  const std::int64_t tenth = progress.total > 0 ? progress.done * 10 / progress.total : -1;
  const bool new_stage = progress.stage != stage_;
  std::string text = progress.stage + " " + std::to_string(progress.done);
  if (progress.total > 0) text += "/" + std::to_string(progress.total);
  line_.show(text, finished || (!line_.terminal() && (new_stage || tenth != tenth_)));
  stage_ = progress.stage;
  tenth_ = tenth;
}

} // namespace t2i::cli
