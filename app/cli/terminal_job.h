// How every long command speaks the job protocol (t2i/job.h) on a terminal: progress on stderr
// and Ctrl-C as the job's cancel token. A command makes one TerminalJob and hands its context()
// to the core; nothing else in the CLI prints progress or handles signals.
#pragma once

#include "interrupt.h"

#include "t2i/job.h"

#include <cstdint>
#include <string>

namespace t2i::cli {

/// The command's line on stderr: on a terminal one line rewritten in place, on a pipe or a file
/// only the lines worth keeping.
class ProgressLine {
public:
  ProgressLine();
  /// Shows `text`; `keep` ends the line (a terminal's next text starts a new one).
  void show(const std::string& text, bool keep);
  bool terminal() const { return terminal_; }

private:
  bool terminal_;
};

class TerminalJob {
public:
  /// Routes Ctrl-C (and SIGTERM) to the token until destruction.
  TerminalJob();
  TerminalJob(const TerminalJob&) = delete;
  TerminalJob& operator=(const TerminalJob&) = delete;

  const job::Context& context() const { return context_; }
  ProgressLine& line() { return line_; }

private:
  void show(const job::Progress& progress);

  ProgressLine line_;
  job::CancelToken cancel_;
  job::Context context_;
  InterruptScope interrupt_;
  std::string stage_;        ///< the stage of the last count shown
  std::int64_t tenth_ = -1;  ///< the tenth of it last kept (on a pipe, a line per tenth)
};

} // namespace t2i::cli
