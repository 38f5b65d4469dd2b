#include "test_support.h"

#include <QCoreApplication>
#include <QDir>
#include <QProcess>
#include <QSettings>
#include <QStandardPaths>
#include <QTemporaryDir>

namespace t2i::test {

QString sharedData(const QString& relative) {
  return QDir(QStringLiteral(T2I_SHARED_DATA_DIR)).absoluteFilePath(relative);
}

CliRun runCli(const QStringList& arguments, int timeoutMs) {
  QProcess process;
  process.start(cliPath(), arguments);
  CliRun run;
  if (!process.waitForFinished(timeoutMs)) {
    process.kill();
    process.waitForFinished();
    return run;
  }
  run.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
  run.out = QString::fromUtf8(process.readAllStandardOutput());
  run.err = QString::fromUtf8(process.readAllStandardError());
  return run;
}

void useOwnSettings() {
  // Static: the studio's settings writer saves what is left when the application object is
  // destroyed, at the end of main(), before this folder is removed.
  static QTemporaryDir folder;
  QVERIFY2(folder.isValid(), qPrintable(folder.errorString()));
  QStandardPaths::setTestModeEnabled(true);
  QCoreApplication::setOrganizationName(QStringLiteral("t2i-studio"));
  QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, folder.path());
}

QString artifactsDir() { return QStringLiteral(T2I_TEST_ARTIFACTS_DIR); }

QString cliPath() { return QStringLiteral(T2I_CLI_PATH); }

void expect_error(const std::function<void()>& action, const std::vector<std::string>& parts) {
  try {
    action();
  } catch (const std::exception& e) {
    for (const auto& part : parts) QVERIFY2(std::string(e.what()).find(part) != std::string::npos, e.what());
    return;
  }
  QFAIL("no error");
}

} // namespace t2i::test
