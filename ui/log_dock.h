// The log dock: every line the core and the application log, as the user sees it.
#pragma once

#include <spdlog/sinks/sink.h>

#include <QDockWidget>

class QPlainTextEdit;

namespace t2i::ui {

class LogDock : public QDockWidget {
  Q_OBJECT
public:
  explicit LogDock(QWidget* parent = nullptr);
  ~LogDock() override;

  /// Number of lines shown so far (bounded by the dock's history limit).
  int lineCount() const;

public Q_SLOTS:
  /// Appends one formatted line; spdlog's Qt sink calls it through a queued invocation, so
  /// lines logged from worker threads arrive on the GUI thread.
  void appendLine(const QString& line);

private:
  QPlainTextEdit* text_;
  spdlog::sink_ptr sink_;
};

} // namespace t2i::ui
