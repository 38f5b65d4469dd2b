#include "log_dock.h"

#include "t2i/log.h"

#include <spdlog/sinks/qt_sinks.h>

#include <QFontDatabase>
#include <QPlainTextEdit>

namespace t2i::ui {
namespace {
constexpr int kHistoryLines = 5000;
}

LogDock::LogDock(QWidget* parent) : QDockWidget(tr("Log"), parent), text_(new QPlainTextEdit(this)) {
  setObjectName(QStringLiteral("logDock"));
  text_->setReadOnly(true);
  text_->setMaximumBlockCount(kHistoryLines);
  text_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  text_->setObjectName(QStringLiteral("logText"));
  setWidget(text_);

  sink_ = std::make_shared<spdlog::sinks::qt_sink_mt>(this, "appendLine");
  sink_->set_pattern("%H:%M:%S %^%l%$ %v");
  t2i::log::add_sink(sink_);
}

LogDock::~LogDock() { t2i::log::remove_sink(sink_); }

int LogDock::lineCount() const { return text_->document()->blockCount() - (text_->toPlainText().isEmpty() ? 1 : 0); }

void LogDock::appendLine(const QString& line) { text_->appendPlainText(line.trimmed()); }

} // namespace t2i::ui
