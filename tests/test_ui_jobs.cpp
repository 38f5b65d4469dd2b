// Worker-thread plumbing of the studio: jobs run off the GUI thread, report back queued, cancel;
// a view's reloads while one reads coalesce into one more read;
// settings reach their file from a worker; a run other processes write is followed from a worker,
// reading only what its metrics.jsonl gained.
#include "jobs/coalescing_reload.h"
#include "jobs/job_runner.h"
#include "jobs/latest_frame.h"
#include "settings.h"
#include "training/run_follower.h"
#include "test_support.h"

#include "t2i/log.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QSignalSpy>
#include <QSettings>
#include <QTemporaryDir>
#include <QThread>
#include <QtTest/QtTest>

#include <spdlog/sinks/ringbuffer_sink.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

using t2i::ui::CoalescingReload;
using t2i::ui::JobRunner;
using t2i::ui::LatestFrame;
using t2i::ui::RunFollower;

namespace {

std::string stepLine(std::int64_t step, double loss = 0.5) {
  return "{\"event\":\"step\",\"step\":" + std::to_string(step) + ",\"train_loss\":" + std::to_string(loss) + "}\n";
}

void append(const QString& path, const std::string& text) {
  std::ofstream(path.toStdString(), std::ios::app | std::ios::binary) << text;
}

/// A RunFollower on a run folder with what its reads saw: the steps it emitted, in order, and
/// for each read the thread it ran on and the offset it read from.
struct Followed {
  explicit Followed(const QTemporaryDir& dir) : metrics(dir.filePath(QStringLiteral("metrics.jsonl"))), polled(&follower, &RunFollower::polled) {
    follower.setReader([this](const std::string& run, const t2i::train::MetricsPosition& since, bool images) {
      {
        std::lock_guard<std::mutex> lock(mutex);
        threads.push_back(QThread::currentThread());
        offsets.push_back(since.offset);
      }
      return RunFollower::read(run, since, images);
    });
    QObject::connect(&follower, &RunFollower::steps, [this](const std::vector<t2i::train::StepMetrics>& batch) {
      batches.push_back(batch.size());
      for (const auto& m : batch) steps.push_back(m.step);
    });
  }
  /// One poll, read to its end: false when it did not end or failed.
  bool poll() {
    follower.poll();
    return polled.wait(60000) && polled.last().at(0).toString().isEmpty();
  }
  std::uint64_t lastOffset() {
    std::lock_guard<std::mutex> lock(mutex);
    return offsets.back();
  }

  QString metrics;
  RunFollower follower;
  QSignalSpy polled;
  std::mutex mutex;
  std::vector<QThread*> threads;
  std::vector<std::uint64_t> offsets;
  std::vector<std::int64_t> steps;
  std::vector<std::size_t> batches;
};

std::vector<std::int64_t> range(std::int64_t first, std::int64_t last) {
  std::vector<std::int64_t> steps;
  for (std::int64_t step = first; step <= last; ++step) steps.push_back(step);
  return steps;
}

} // namespace

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

  // A job started between a worker's return and its queued finished() had that finished() taken
  // for its own (test_studio_train's dataPageAndCliPrepareShareOneCache flaked on it): until
  // finished() is emitted the runner is busy.
  void aJobRunsUntilItsOutcomeIsDelivered() {
    JobRunner runner;
    QSignalSpy finished(&runner, &JobRunner::finished);
    std::atomic<QThread*> worker{nullptr};
    QVERIFY(runner.start(QStringLiteral("short"), [&](const t2i::job::Context&) { worker = QThread::currentThread(); }));
    while (worker.load() == nullptr) QThread::yieldCurrentThread();
    QVERIFY(worker.load()->wait());  // the worker has returned; no event has been processed since
    QVERIFY(runner.isRunning());
    QVERIFY(!runner.start(QStringLiteral("second"), [](const t2i::job::Context&) {}));
    QCOMPARE(finished.count(), 0);
    QTRY_COMPARE(finished.count(), 1);
    QVERIFY(!runner.isRunning());
  }

  void reloadsDuringAReadCoalesceIntoOneReadOfTheNewest() {
    std::promise<void> open;
    const std::shared_future<void> gate = open.get_future().share();
    std::atomic<int> reading{0};
    std::atomic<int> mostAtOnce{0};
    std::atomic<int> reads{0};
    QList<int> landed;
    QStringList failures;
    CoalescingReload<int> reload(
        QStringLiteral("reload"), [&](int value) { landed << value; }, [&](const QString& message) { failures << message; });
    const auto readOf = [&](int value) {
      return [&, value] {
        const int now = ++reading;
        int most = mostAtOnce.load();
        while (now > most && !mostAtOnce.compare_exchange_weak(most, now)) {
        }
        gate.wait();
        ++reads;
        --reading;
        return value;
      };
    };
    reload.request(readOf(1));  // reads at once, held at the gate
    reload.request(readOf(2));  // waits
    reload.request(readOf(3));  // replaces 2: the newest request is the one read
    QVERIFY(reload.isRunning());
    open.set_value();
    QTRY_COMPARE(landed, (QList<int>{1, 3}));
    QTRY_VERIFY(!reload.isRunning());
    QCOMPARE(reads.load(), 2);
    QCOMPARE(mostAtOnce.load(), 1);
    reload.request(readOf(4));  // idle: reads at once
    QTRY_COMPARE(landed, (QList<int>{1, 3, 4}));
    QVERIFY(failures.isEmpty());
  }

  void aFailedReadStillStartsTheWaitingOne() {
    std::promise<void> open;
    const std::shared_future<void> gate = open.get_future().share();
    QList<int> landed;
    QStringList failures;
    CoalescingReload<int> reload(
        QStringLiteral("reload"), [&](int value) { landed << value; }, [&](const QString& message) { failures << message; });
    reload.request([gate]() -> int {
      gate.wait();
      throw std::runtime_error("unreadable: /run/metrics.jsonl");
    });
    reload.request([] { return 5; });
    open.set_value();
    QTRY_COMPARE(landed, (QList<int>{5}));
    QCOMPARE(failures, (QStringList{QStringLiteral("unreadable: /run/metrics.jsonl")}));
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

  // metrics.jsonl appended in pieces, one line split over two polls: every step comes out once, in
  // order, the split one when its newline has arrived; each read starts where the last complete
  // line ended, and none runs on the GUI thread.
  void followerEmitsEachAppendedStepOnce() {
    QTemporaryDir dir;
    Followed run(dir);
    run.follower.begin(dir.path().toStdString(), /*shown=*/false);
    QVERIFY(run.poll());  // no metrics.jsonl yet: nothing, no error
    const std::string first = stepLine(1) + stepLine(2) + stepLine(3);
    append(run.metrics, first);
    QVERIFY(run.poll());
    const std::string split = stepLine(4);
    append(run.metrics, split.substr(0, 12));
    QVERIFY(run.poll());
    QCOMPARE(run.lastOffset(), std::uint64_t{first.size()});
    QCOMPARE(run.steps, range(1, 3));
    append(run.metrics, split.substr(12) + stepLine(5));
    QVERIFY(run.poll());
    QCOMPARE(run.lastOffset(), std::uint64_t{first.size()});
    append(run.metrics, "{\"event\":\"eval\",\"step\":5,\"val_p2\":0.25}\n" + stepLine(6));
    QVERIFY(run.poll());
    QCOMPARE(run.lastOffset(), std::uint64_t{first.size() + split.size() + stepLine(5).size()});
    QCOMPARE(run.steps, range(1, 6));
    QCOMPARE(run.follower.summary().steps, std::int64_t{6});
    for (QThread* thread : run.threads) QVERIFY(thread != QThread::currentThread());
  }

  // After a long run's 50,000 lines, one more line is one read of that line: the read starts at the
  // old end and emits a batch of one step.
  void followerReadsOnlyWhatALongRunAppended() {
    QTemporaryDir dir;
    Followed run(dir);
    std::string history;
    for (std::int64_t step = 1; step <= 50000; ++step) history += stepLine(step);
    append(run.metrics, history);
    run.follower.begin(dir.path().toStdString(), /*shown=*/false);
    QVERIFY(run.poll());
    QCOMPARE(run.steps.size(), std::size_t{50000});
    append(run.metrics, stepLine(50001));
    QVERIFY(run.poll());
    QCOMPARE(run.lastOffset(), std::uint64_t{history.size()});
    QCOMPARE(run.batches.back(), std::size_t{1});
    QCOMPARE(run.steps.size(), std::size_t{50001});
    QCOMPARE(run.steps.back(), std::int64_t{50001});
  }

  // A continued run: the page shows the history already, so the first read emits nothing; the
  // trainer then rewrites metrics.jsonl without the steps after its checkpoint (4) and redoes
  // them: only the redone steps come out, once.
  void followerOfAContinuedRunEmitsOnlyTheRedoneSteps() {
    QTemporaryDir dir;
    Followed run(dir);
    QVERIFY(QDir(dir.path()).mkpath(QStringLiteral("checkpoints")));
    append(dir.filePath(QStringLiteral("checkpoints/step_000000004.safetensors")), "not read");
    std::string kept;
    for (std::int64_t step = 1; step <= 4; ++step) kept += stepLine(step);
    append(run.metrics, kept + stepLine(5) + stepLine(6));
    run.follower.begin(dir.path().toStdString(), /*shown=*/true);
    QVERIFY(run.poll());
    QVERIFY(run.steps.empty());
    const QString rewritten = dir.filePath(QStringLiteral("metrics.jsonl.new"));
    append(rewritten, kept + stepLine(5, 0.25) + stepLine(6, 0.25));
    QVERIFY(std::rename(rewritten.toUtf8().constData(), run.metrics.toUtf8().constData()) == 0);
    QVERIFY(run.poll());
    QCOMPARE(run.steps, range(5, 6));
    append(run.metrics, stepLine(7));
    QVERIFY(run.poll());
    QCOMPARE(run.steps, range(5, 7));
  }
};

QTEST_MAIN(TestUiJobs)
#include "test_ui_jobs.moc"
