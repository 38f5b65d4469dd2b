// Helpers shared by the test executables: where the reference data and artefacts live.
#pragma once

#include <QString>
#include <QtTest/QtTest>

#include <functional>
#include <string>
#include <vector>

namespace t2i::test {

/// Absolute path of a file or folder inside ../shared/data (the T2I_SHARED_DATA cache variable).
QString sharedData(const QString& relative);

/// Folder where tests leave files worth looking at (screenshots, sample grids).
QString artifactsDir();

/// Path of the built `t2i` command-line executable.
QString cliPath();

/// What a `t2i` process left: its exit code (-1 when it crashed or ran out of time) and output.
struct CliRun {
  int exitCode = -1;
  QString out;
  QString err;
};

/// Runs `t2i` with `arguments` to its end, killing it after `timeoutMs`.
CliRun runCli(const QStringList& arguments, int timeoutMs = 600000);

/// Gives this test process the studio's settings in a folder of its own, removed at exit. Named
/// like the studio's (without an organization name every QSettings reports AccessError, so the
/// studio's writer failed with "cannot write the settings file"), and apart from every other test
/// process, so two test executables, or two checkouts running one, never share a settings file.
/// Call first, before anything reads a setting.
void useOwnSettings();

/// Fails the test unless `action` throws an exception whose message holds every one of `parts`.
void expect_error(const std::function<void()>& action, const std::vector<std::string>& parts);

} // namespace t2i::test

/// Skips the current test, naming what is missing, when a shared-data path does not exist.
#define T2I_REQUIRE_SHARED_DATA(relative)                                                              \
  do {                                                                                                 \
    const QString t2iPath_ = t2i::test::sharedData(QStringLiteral(relative));                          \
    if (!QFileInfo::exists(t2iPath_))                                                                  \
      QSKIP(qPrintable(QStringLiteral("reference data missing: %1 (set -DT2I_SHARED_DATA=…)").arg(t2iPath_))); \
  } while (false)
