#include "log_dock.h"

#include "t2i/log.h"

#include <spdlog/sinks/base_sink.h>

#include <QFontDatabase>
#include <QPlainTextEdit>
#include <QStringList>

#include <cstddef>
#include <mutex>

namespace t2i::ui {
namespace {
constexpr std::size_t kHistoryLines = 5000;

/// Formats each line on the thread that logs it and posts it to the dock's batch.
class BatchSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
  explicit BatchSink(EventBatch<QString>& lines) : lines_(lines) {}

protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(message, formatted);
    lines_.post(QString::fromUtf8(formatted.data(), static_cast<qsizetype>(formatted.size())).trimmed());
  }
  void flush_() override {}

private:
  EventBatch<QString>& lines_;
};
} // namespace

LogDock::LogDock(QWidget* parent)
    : QDockWidget(tr("Log"), parent), text_(new QPlainTextEdit(this)),
      lines_(this, [this](std::vector<QString> lines) { appendLines(std::move(lines)); }) {
  setObjectName(QStringLiteral("logDock"));
  text_->setReadOnly(true);
  text_->setMaximumBlockCount(static_cast<int>(kHistoryLines));
  text_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  text_->setObjectName(QStringLiteral("logText"));
  setWidget(text_);

  sink_ = std::make_shared<BatchSink>(lines_);
  sink_->set_pattern("%H:%M:%S %l %v");
  t2i::log::add_sink(sink_);
}

LogDock::~LogDock() { t2i::log::remove_sink(sink_); }

int LogDock::lineCount() const { return text_->document()->blockCount() - (text_->toPlainText().isEmpty() ? 1 : 0); }

void LogDock::appendLines(std::vector<QString> lines) {
  // Lines past the history limit would be dropped as soon as they were shown.
  const std::size_t first = lines.size() > kHistoryLines ? lines.size() - kHistoryLines : 0;
  QStringList shown;
  shown.reserve(static_cast<qsizetype>(lines.size() - first));
  for (std::size_t i = first; i < lines.size(); ++i) shown << lines[i];
  text_->appendPlainText(shown.join(QLatin1Char('\n')));
}

} // namespace t2i::ui
