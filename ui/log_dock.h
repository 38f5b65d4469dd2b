// The log dock: every line the core and the application log, as the user sees it.
#pragma once

#include "jobs/event_batch.h"

#include <spdlog/sinks/sink.h>

#include <QDockWidget>
#include <QString>

#include <vector>

class QPlainTextEdit;

namespace t2i::ui {

class LogDock : public QDockWidget {
  Q_OBJECT
public:
  explicit LogDock(QWidget* parent = nullptr);
  ~LogDock() override;

  /// Number of lines shown so far (bounded by the dock's history limit).
  int lineCount() const;

private:
  /// Shows the lines logged since the last delivery. Lines from any thread arrive in batches:
  /// a worker that logs thousands of lines at once (a warning per broken image of a dataset)
  /// costs the GUI one append per event-loop turn, not one per line (5 s of frozen GUI measured
  /// for 30,000 warnings when each line was its own event).
  void appendLines(std::vector<QString> lines);

  QPlainTextEdit* text_;
  EventBatch<QString> lines_;
  spdlog::sink_ptr sink_;  ///< last: removed from the logger before lines_ goes
};

} // namespace t2i::ui
