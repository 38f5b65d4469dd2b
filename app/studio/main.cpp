// `t2i-studio`: the desktop application.
#include "main_window.h"

#include "t2i/log.h"
#include "t2i/runtime.h"
#include "t2i/version.h"

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QStandardPaths>
#include <QTimer>

namespace {

constexpr std::size_t kLogFileBytes = 5 * 1024 * 1024;
constexpr std::size_t kLogFilesKept = 3;

void installLogSinks() {
  t2i::log::add_sink(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  const QString folder = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/logs");
  if (!QDir().mkpath(folder)) {
    t2i::log::core()->warn("Cannot create the log folder {}; logging to stderr only", folder.toStdString());
    return;
  }
  const std::string file = QString(folder + QStringLiteral("/t2i-studio.log")).toStdString();
  try {
    t2i::log::add_sink(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(file, kLogFileBytes, kLogFilesKept));
  } catch (const spdlog::spdlog_ex& e) {
    t2i::log::core()->warn("Cannot write the log file {}: {}", file, e.what());
  }
}

} // namespace

int main(int argc, char** argv) {
  t2i::runtime::restart_with_passive_openmp_waits(argv);
  QApplication app(argc, argv);
  QApplication::setApplicationName(QStringLiteral("t2i-studio"));
  QApplication::setOrganizationName(QStringLiteral("t2i-studio"));
  QApplication::setApplicationVersion(QString::fromUtf8(t2i::kVersion));

  QCommandLineParser parser;
  parser.setApplicationDescription(QStringLiteral("Train, watch and probe small text-to-image diffusion models."));
  parser.addHelpOption();
  parser.addVersionOption();
  const QCommandLineOption demo(QStringLiteral("demo"), QStringLiteral("Start on the built-in demo dataset."));
  const QCommandLineOption threads(QStringLiteral("threads"), QStringLiteral("CPU threads (default: all cores)."),
                                   QStringLiteral("n"), QStringLiteral("0"));
  const QCommandLineOption quitAfter(QStringLiteral("quit-after"),
                                     QStringLiteral("Close the window after this many milliseconds (smoke tests)."),
                                     QStringLiteral("ms"));
  parser.addOptions({demo, threads, quitAfter});
  parser.process(app);

  installLogSinks();
  bool threadsOk = false;
  const int threadCount = parser.value(threads).toInt(&threadsOk);
  if (!threadsOk || threadCount < 0) parser.showHelp(2);
  t2i::runtime::initialize(threadCount);

  t2i::ui::MainWindow window;
  if (parser.isSet(demo)) window.showPage(t2i::ui::Page::Data);
  window.show();
  t2i::log::core()->info("t2i-studio {} ready", t2i::kVersion);

  if (parser.isSet(quitAfter)) {
    bool ok = false;
    const int ms = parser.value(quitAfter).toInt(&ok);
    if (!ok || ms < 0) parser.showHelp(2);
    QTimer::singleShot(ms, &window, &QWidget::close);
  }
  return QApplication::exec();
}
