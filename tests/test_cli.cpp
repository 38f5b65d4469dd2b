// The `t2i` executable as a user runs it.
#include "test_support.h"

#include "t2i/version.h"

#include <QProcess>
#include <QtTest/QtTest>

namespace {

struct Run {
  int exitCode = -1;
  QString out;
  QString err;
};

Run runCli(const QStringList& arguments) {
  QProcess process;
  process.start(t2i::test::cliPath(), arguments);
  Run run;
  if (!process.waitForFinished(120000)) return run;
  run.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
  run.out = QString::fromUtf8(process.readAllStandardOutput());
  run.err = QString::fromUtf8(process.readAllStandardError());
  return run;
}

} // namespace

class TestCli : public QObject {
  Q_OBJECT
private Q_SLOTS:
  void versionPrintsProjectVersion() {
    const Run run = runCli({QStringLiteral("--version")});
    QCOMPARE(run.exitCode, 0);
    QVERIFY2(run.out.contains(QString::fromUtf8(t2i::kVersion)), qPrintable(run.out));
  }

  void helpListsSubcommands() {
    const Run run = runCli({QStringLiteral("--help")});
    QCOMPARE(run.exitCode, 0);
    for (const char* command : {"info", "bench"}) QVERIFY2(run.out.contains(QString::fromUtf8(command)), command);
  }

  void infoReportsThreadsAndBlas() {
    const Run run = runCli({QStringLiteral("info")});
    QCOMPARE(run.exitCode, 0);
    QVERIFY2(run.out.contains(QStringLiteral("Threads:")), qPrintable(run.out));
    QVERIFY2(run.out.contains(QStringLiteral("OpenBLAS")), qPrintable(run.out));
  }

  void infoJsonUsesEveryCore() {
    const Run run = runCli({QStringLiteral("info"), QStringLiteral("--json")});
    QCOMPARE(run.exitCode, 0);
    const QJsonObject json = QJsonDocument::fromJson(run.out.toUtf8()).object();
    QCOMPARE(json.value(QStringLiteral("intra_op_threads")).toInt(), json.value(QStringLiteral("cpu_cores")).toInt());
    QCOMPARE(json.value(QStringLiteral("blas_is_reference")).toBool(true), false);
  }

  void unknownCommandFailsWithMessage() {
    const Run run = runCli({QStringLiteral("no-such-command")});
    QVERIFY(run.exitCode != 0);
    QVERIFY(!run.err.isEmpty());
  }

  void badOptionValueIsRejected() {
    const Run run = runCli({QStringLiteral("--threads"), QStringLiteral("-3"), QStringLiteral("info")});
    QVERIFY(run.exitCode != 0);
    QVERIFY2(run.err.contains(QStringLiteral("threads")), qPrintable(run.err));
  }
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
