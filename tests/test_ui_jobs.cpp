// Worker-thread plumbing of the studio: jobs run off the GUI thread, report back queued, cancel;
// settings reach their file from a worker.
#include "jobs/job_runner.h"
#include "jobs/latest_frame.h"
#include "settings.h"
#include "test_support.h"

#include "t2i/log.h"

#include <QDateTime>
#include <QFile>
#include <QSignalSpy>
#include <QSettings>
#include <QThread>
#include <QtTest/QtTest>

#include <spdlog/sinks/ringbuffer_sink.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using t2i::ui::JobRunner;
using t2i::ui::LatestFrame;

class TestUiJobs : public QObject {
  Q_OBJECT
private Q_SLOTS:
  void initTestCase() { t2i::test::useOwnSettings(); }

  void jobRunsOnItsOwnNamedThread() {
    JobRunner runner;
    QSignalSpy finished(&runner, &JobRunner::finished);
    QThread* workerThread = nullptr;
    QString workerName;
    QVERIFY(runner.start(QStringLiteral("test-job"), [&](const t2i::job::Context&) {
      workerThread = QThread::currentThread();
      workerName = workerThread->objectName();
    }));
    QTRY_COMPARE(finished.count(), 1);
    QCOMPARE(finished.at(0).at(0).toBool(), false);
    QVERIFY(workerThread != QThread::currentThread());
    QCOMPARE(workerName, QStringLiteral("test-job"));
  }

  void failureMessageReachesTheGuiThread() {
    JobRunner runner;
    QSignalSpy failed(&runner, &JobRunner::failed);
    runner.start(QStringLiteral("failing"), [](const t2i::job::Context&) { throw std::runtime_error("disk full: /x"); });
    QTRY_COMPARE(failed.count(), 1);
    QCOMPARE(failed.at(0).at(0).toString(), QStringLiteral("disk full: /x"));
  }

  void cancelStopsAJobAndOnlyOneRunsAtATime() {
    JobRunner runner;
    QSignalSpy finished(&runner, &JobRunner::finished);
    std::atomic<bool> running{false};
    runner.start(QStringLiteral("long"), [&](const t2i::job::Context& job) {
      running = true;
      while (!job.cancelled()) QThread::msleep(1);
    });
    QTRY_VERIFY(running.load());
    QVERIFY(!runner.start(QStringLiteral("second"), [](const t2i::job::Context&) {}));
    runner.cancel();
    QTRY_COMPARE(finished.count(), 1);
    QCOMPARE(finished.at(0).at(0).toBool(), true);
    QVERIFY(runner.start(QStringLiteral("after"), [](const t2i::job::Context&) {}));
    QTRY_COMPARE(finished.count(), 2);
  }

  void aFinishedListenerCanStartTheNextJob() {
    JobRunner runner;
    std::atomic<int> runs{0};
    QList<bool> restarted;
    connect(&runner, &JobRunner::finished, &runner, [&] {
      if (runs < 3) restarted << runner.start(QStringLiteral("chained"), [&](const t2i::job::Context&) { ++runs; });
    });
    QVERIFY(runner.start(QStringLiteral("chained"), [&](const t2i::job::Context&) { ++runs; }));
    QTRY_COMPARE(runs.load(), 3);
    QCOMPARE(restarted, (QList<bool>{true, true}));
  }

  void destroyingTheRunnerCancelsAndJoins() {
    std::atomic<bool> sawCancel{false};
    {
      JobRunner runner;
      runner.start(QStringLiteral("orphan"), [&](const t2i::job::Context& job) {
        while (!job.cancelled()) QThread::msleep(1);
        sawCancel = true;
      });
    }
    QVERIFY(sawCancel.load());
  }

  void latestFrameDeliversOnlyTheNewestPendingValue() {
    QObject receiver;
    QList<int> delivered;
    LatestFrame<int> frames(&receiver, [&](int v) {
      QCOMPARE(QThread::currentThread(), receiver.thread());
      delivered << v;
    });
    QThread* producer = QThread::create([&] {
      for (int i = 1; i <= 1000; ++i) frames.post(i);
    });
    producer->start();
    producer->wait();
    delete producer;
    QTRY_VERIFY(!delivered.isEmpty() && delivered.last() == 1000);
    QVERIFY(delivered.size() < 1000);
    QVERIFY(std::is_sorted(delivered.begin(), delivered.end()));
  }

  void settingsReachTheirFileFromAWorker() {
    const t2i::ui::SettingKey<qlonglong> key("test/written", 0);
    const qlonglong value = QDateTime::currentMSecsSinceEpoch();  // not in the file from an earlier run
    const QString path = t2i::ui::settings::store::fileName();
    const auto fileHasIt = [&] {
      QFile file(path);
      return file.open(QIODevice::ReadOnly) && file.readAll().contains(QByteArray("written=").append(QByteArray::number(value)));
    };
    // The writer's failures reach the core log (JobRunner); none may name the settings file.
    const auto errors = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(100);
    errors->set_level(spdlog::level::err);
    t2i::log::add_sink(errors);
    key.setValue(value);
    QCOMPARE(key.value(), value);  // at once, in memory
    QVERIFY2(!fileHasIt(), "the GUI thread wrote the settings file itself");
    QTRY_VERIFY_WITH_TIMEOUT(fileHasIt(), 10000);
    QTest::qWait(100);  // the worker's end reaches the GUI thread queued
    t2i::log::remove_sink(errors);
    const std::vector<std::string> lines = errors->last_formatted();
    QVERIFY2(lines.empty(), lines.empty() ? "" : lines.front().c_str());
    QCOMPARE(QSettings().status(), QSettings::NoError);
  }
};

QTEST_MAIN(TestUiJobs)
#include "test_ui_jobs.moc"
