// Crash recovery of a real `t2i train` process: killed with SIGKILL twenty times (at seeded random
// moments, during a step, during a checkpoint write, during an evaluation) and resumed each time,
// and a checkpoint write that fails for want of space. After every interruption the run folder is
// consistent, and the resumed run ends bit-identical to one that was never interrupted.
#include "test_support.h"
#include "tiny_preset.h"

#include "io/tensor_file.h"
#include "model/checkpoint_file.h"
#include "t2i/runs.h"
#include "t2i/runtime.h"
#include "train/run_folder.h"

#include <nlohmann/json.hpp>

#include <QElapsedTimer>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <poll.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

namespace fs = std::filesystem;
using namespace t2i;

namespace {

constexpr int kEvalEvery = 2;   // an evaluation and a checkpoint every 2 steps
constexpr int kSteps = 64;      // more than twenty interruptions can reach (at most 3 steps each)
constexpr int kKills = 20;
constexpr std::uint32_t kScheduleSeed = 2121;

QString q(const std::string& text) { return QString::fromStdString(text); }

std::string writeRecoveryPreset(const QTemporaryDir& dir) {
  nlohmann::json preset = t2i::test::tiny_preset_json();
  preset["eval_every"] = kEvalEvery;
  return t2i::test::write_preset(dir, preset);
}

/// The arguments of a fresh run of `steps` steps.
QStringList freshArguments(const std::string& preset, const std::string& run, int steps = kSteps) {
  // No previews and no probe gallery: they are not part of the training state a resume restores
  // (test_probe_gallery resumes the gallery), and sampling them at every evaluation (every 2 steps
  // here) took the kill loop past Qt Test's 5-minute limit in CI.
  return QStringList{QStringLiteral("--threads"), QStringLiteral("1"), QStringLiteral("train"), QStringLiteral("--preset"),
                     q(preset), QStringLiteral("--demo"), QStringLiteral("--demo-images"), QStringLiteral("48"),
                     QStringLiteral("--out"), q(run), QStringLiteral("--max-steps"), QString::number(steps),
                     QStringLiteral("--seed"), QStringLiteral("7"), QStringLiteral("--bf16"), QStringLiteral("off"),
                     QStringLiteral("--preview-every"), QStringLiteral("1000000"), QStringLiteral("--no-probes")};
}

/// `--resume`, which reads everything else from the run folder, with `extra` flags overriding it.
QStringList resumeArguments(const std::string& run, const QStringList& extra = {}) {
  return QStringList{QStringLiteral("--threads"), QStringLiteral("1"), QStringLiteral("train"), QStringLiteral("--out"),
                     q(run), QStringLiteral("--resume")} + extra;
}

const QStringList kFourSteps{QStringLiteral("--max-steps"), QStringLiteral("4")};

/// Where a kill lands. A moment names what the process is doing, not a time: the test watches the
/// run folder (inotify) and kills when the moment comes.
enum class Moment { AnyTime, DuringStep, CheckpointWrite, Evaluation };

const char* momentName(Moment moment) {
  switch (moment) {
  case Moment::AnyTime: return "any time";
  case Moment::DuringStep: return "during a step";
  case Moment::CheckpointWrite: return "during a checkpoint write";
  case Moment::Evaluation: return "during an evaluation";
  }
  return "";
}

struct Kill {
  Moment moment;
  int steps;     ///< steps after the resumed one: the step that triggers it (at latest, for AnyTime)
  int delay_ms;  ///< after the start (AnyTime) or after the step's metrics line (DuringStep)
};

/// The seeded schedule. The first kill comes at the first step, before any checkpoint, so the next
/// start is a fresh run into a folder a dead one wrote. A targeted moment aims at the second
/// evaluation after the resumed step, so the first one's checkpoint is kept and every interruption
/// but an early random one makes progress.
std::vector<Kill> killSchedule() {
  std::mt19937 random(kScheduleSeed);
  const auto uniform = [&](int low, int high) { return std::uniform_int_distribution<int>(low, high)(random); };
  std::vector<Kill> kills{{Moment::DuringStep, 1, 0}};
  for (int i = 1; i < kKills; ++i) {
    const auto moment = static_cast<Moment>(i % 4);
    switch (moment) {
    case Moment::AnyTime: kills.push_back({moment, 2 * kEvalEvery, uniform(0, 1500)}); break;
    case Moment::DuringStep: kills.push_back({moment, uniform(1, 3), uniform(0, 100)}); break;
    default: kills.push_back({moment, 2 * kEvalEvery, 0}); break;
    }
  }
  return kills;
}

/// Wakes the test when the run folder or its checkpoints folder changes.
class FolderWatch {
public:
  explicit FolderWatch(const std::string& run) : fd_(inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
    inotify_add_watch(fd_, run.c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_TO);
    checkpoints_ = inotify_add_watch(fd_, (run + "/checkpoints").c_str(), IN_CREATE | IN_MOVED_TO);
  }
  ~FolderWatch() { ::close(fd_); }
  FolderWatch(const FolderWatch&) = delete;
  FolderWatch& operator=(const FolderWatch&) = delete;
  bool valid() const { return fd_ >= 0 && checkpoints_ >= 0; }

  /// Names of the files created in checkpoints/ within `timeout_ms` (empty on other changes).
  std::vector<std::string> wait(int timeout_ms) {
    pollfd ready{fd_, POLLIN, 0};
    std::vector<std::string> created;
    if (::poll(&ready, 1, timeout_ms) <= 0) return created;
    alignas(inotify_event) char buffer[8192];
    for (ssize_t size; (size = ::read(fd_, buffer, sizeof(buffer))) > 0;)
      for (ssize_t at = 0; at < size;) {
        const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
        if (event->wd == checkpoints_ && event->len > 0 && (event->mask & IN_CREATE) != 0) created.emplace_back(event->name);
        at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      }
    return created;
  }

private:
  int fd_;
  int checkpoints_ = -1;
};

std::string fileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// The step of the last complete metrics line if it is a step event, else -1.
std::int64_t lastLoggedStep(const std::string& metrics) {
  const std::string text = fileText(metrics);
  const auto end = text.rfind('\n');
  if (end == std::string::npos) return -1;
  const auto begin = text.rfind('\n', end == 0 ? 0 : end - 1);
  const auto event = nlohmann::json::parse(text.substr(begin == std::string::npos ? 0 : begin + 1, end), nullptr, false);
  if (event.is_discarded() || event.value("event", "") != "step") return -1;
  return event.value("step", std::int64_t{-1});
}

/// The step a temporary of a step checkpoint is written for (step_<N>.safetensors.tmp-…), else -1.
std::int64_t temporaryStep(const std::string& name) {
  long long step = -1;
  char tail[64] = {};
  if (std::sscanf(name.c_str(), "step_%lld%63s", &step, tail) != 2 || std::string(tail).find(".tmp-") == std::string::npos)
    return -1;
  return step;
}

std::int64_t latestStep(const std::string& run) {
  const auto checkpoints = train::step_checkpoints(run);
  return checkpoints.empty() ? 0 : checkpoints.back().step;
}

struct FolderState {
  bool tornMetricsLine = false;
  int temporaries = 0;
};

/// The run folder as a crash may leave it: every metrics line but an unterminated last one parses
/// (and the reader returns exactly those), the latest step checkpoint and best.safetensors load and
/// hold their step, and the writer's temporaries are never listed as checkpoints.
FolderState checkConsistent(const std::string& run) {
  FolderState state;
  const train::RunFolder folder(run, /*create=*/false);
  const std::string metrics = fileText(folder.metrics_path());
  std::size_t complete = 0;
  std::size_t begin = 0;
  for (std::size_t end; (end = metrics.find('\n', begin)) != std::string::npos; begin = end + 1, ++complete) {
    const auto event = nlohmann::json::parse(metrics.substr(begin, end - begin), nullptr, false);
    if (event.is_discarded() || !event.is_object())
      QTest::qFail(qPrintable(QStringLiteral("metrics line %1 is corrupt").arg(complete + 1)), __FILE__, __LINE__);
  }
  state.tornMetricsLine = begin < metrics.size();
  if (train::read_metrics(folder.metrics_path()).size() != complete)
    QTest::qFail("the metrics reader did not return exactly the complete lines", __FILE__, __LINE__);

  for (const train::RunCheckpoint& checkpoint : train::step_checkpoints(run))
    if (checkpoint.path.find(".tmp") != std::string::npos)
      QTest::qFail(qPrintable(q("a temporary file is listed as a checkpoint: " + checkpoint.path)), __FILE__, __LINE__);
  if (const auto latest = folder.latest_checkpoint()) {
    const model::Checkpoint checkpoint = model::read_checkpoint(*latest);  // throws, failing the test, if torn
    if (checkpoint.meta.at("step").get<std::int64_t>() != latestStep(run))
      QTest::qFail(qPrintable(q(*latest + " holds another step")), __FILE__, __LINE__);
  }
  if (fs::exists(folder.best_checkpoint_path())) {
    const auto best = train::best_checkpoint(run);
    if (!best) QTest::qFail("best.safetensors does not read as a checkpoint", __FILE__, __LINE__);
    else model::read_checkpoint(best->path);
  }
  for (const auto& entry : fs::directory_iterator(fs::path(run) / "checkpoints"))
    if (entry.path().filename().string().find(".tmp-") != std::string::npos) ++state.temporaries;
  if (fs::exists(folder.config_path()) && nlohmann::json::parse(fileText(folder.config_path()), nullptr, false).is_discarded())
    QTest::qFail("config.json is corrupt", __FILE__, __LINE__);
  return state;
}

/// Same tensors, bit for bit: weights, EMA weights, optimiser moments and random-number states.
void expectSameTensors(const std::string& a, const std::string& b) {
  const io::TensorMap x = io::load_tensors(a);
  const io::TensorMap y = io::load_tensors(b);
  QCOMPARE(x.size(), y.size());
  for (const auto& [name, tensor] : x) {
    const auto other = y.find(name);
    QVERIFY2(other != y.end(), name.c_str());
    QVERIFY2(tensor.scalar_type() == other->second.scalar_type() && torch::equal(tensor, other->second), name.c_str());
  }
}

/// Every step once, in order, with the uninterrupted run's losses; the same evaluations.
void expectSameHistory(const std::string& run, const std::string& reference) {
  const train::History a = train::read_history(run);
  const train::History b = train::read_history(reference);
  QCOMPARE(a.steps.size(), b.steps.size());
  for (std::size_t i = 0; i < a.steps.size(); ++i) {
    QCOMPARE(a.steps[i].step, static_cast<std::int64_t>(i + 1));
    QCOMPARE(a.steps[i].train_loss, b.steps[i].train_loss);
  }
  QCOMPARE(a.evals.size(), b.evals.size());
  for (std::size_t i = 0; i < a.evals.size(); ++i) {
    QCOMPARE(a.evals[i].step, b.evals[i].step);
    QCOMPARE(a.evals[i].val_p2, b.evals[i].val_p2);
  }
}

void startTrain(QProcess& process, const QStringList& arguments, const QString& log) {
  process.setStandardOutputFile(log, QIODevice::Append);
  process.setStandardErrorFile(log, QIODevice::Append);
  process.start(t2i::test::cliPath(), arguments);
}

QString logText(const QString& log) { return q(fileText(log.toStdString())).right(4000); }

} // namespace

class TestRecovery : public QObject {
  Q_OBJECT
private Q_SLOTS:
  void initTestCase() { runtime::initialize(); }

  // The reader tolerates what a kill mid-append leaves (a last line without its newline) and
  // nothing more: a damaged line elsewhere is an error naming the file and the line.
  void metricsReaderSkipsOnlyATornLastLine() {
    QTemporaryDir dir;
    const std::string metrics = dir.filePath(QStringLiteral("metrics.jsonl")).toStdString();
    const std::string complete = "{\"event\":\"step\",\"step\":1}\n{\"event\":\"step\",\"step\":2}\n";
    std::ofstream(metrics) << complete << "{\"event\":\"st";
    const auto events = train::read_metrics(metrics);
    QCOMPARE(events.size(), std::size_t{2});
    QCOMPARE(events.back().at("step").get<int>(), 2);

    for (const std::string& damaged : {complete + "{\"event\":\"st\n", "{\"ev\n" + complete, complete + "[1]\n"}) {
      std::ofstream(metrics) << damaged;
      try {
        train::read_metrics(metrics);
        QFAIL(qPrintable(q("a damaged line was skipped: " + damaged)));
      } catch (const std::runtime_error& error) {
        const std::string line = damaged.rfind("{\"ev\n", 0) == 0 ? "line 1" : "line 3";
        QVERIFY2(std::string(error.what()).find(metrics + ": " + line) != std::string::npos, error.what());
      }
    }
  }

  void killedTwentyTimesResumesExactly() {
    QTemporaryDir dir;
    const std::string preset = writeRecoveryPreset(dir);
    const std::string reference = dir.filePath(QStringLiteral("uninterrupted")).toStdString();
    const t2i::test::CliRun straight = t2i::test::runCli(freshArguments(preset, reference));
    QVERIFY2(straight.exitCode == 0, qPrintable(straight.err));

    const std::string run = dir.filePath(QStringLiteral("killed")).toStdString();
    fs::create_directories(fs::path(run) / "checkpoints");  // watched from the first start
    FolderWatch watch(run);
    QVERIFY(watch.valid());
    const QString log = dir.filePath(QStringLiteral("killed.log"));
    const std::vector<Kill> schedule = killSchedule();
    int tornLines = 0;
    int midWrite = 0;
    for (std::size_t i = 0; i < schedule.size(); ++i) {
      const Kill& kill = schedule[i];
      const std::int64_t resumed = latestStep(run);
      const std::int64_t target = resumed + kill.steps;
      QProcess process;
      startTrain(process, resumed > 0 ? resumeArguments(run) : freshArguments(preset, run), log);
      QVERIFY2(process.waitForStarted(), qPrintable(process.errorString()));
      QElapsedTimer clock;
      clock.start();
      bool due = false;
      while (!due && process.state() != QProcess::NotRunning && !process.waitForFinished(0)) {
        const int left = kill.moment == Moment::AnyTime ? static_cast<int>(kill.delay_ms - clock.elapsed()) : 50;
        const std::vector<std::string> created = watch.wait(std::max(0, std::min(left, 50)));
        const std::int64_t logged = lastLoggedStep(run + "/metrics.jsonl");
        switch (kill.moment) {
        case Moment::AnyTime: due = clock.elapsed() >= kill.delay_ms || logged >= target; break;
        case Moment::DuringStep: due = logged >= target; break;
        case Moment::CheckpointWrite:
          for (const std::string& name : created) due = due || temporaryStep(name) >= target;
          break;
        case Moment::Evaluation: due = logged >= target && logged % kEvalEvery == 0; break;
        }
        if (due && kill.moment == Moment::DuringStep) QThread::msleep(static_cast<unsigned long>(kill.delay_ms));
      }
      QVERIFY2(due, qPrintable(QStringLiteral("kill %1: the run ended first (exit %2): %3")
                                   .arg(i + 1).arg(process.exitCode()).arg(logText(log))));
      process.kill();
      QVERIFY(process.waitForFinished(60000));

      const FolderState state = checkConsistent(run);
      if (QTest::currentTestFailed()) QFAIL(qPrintable(QStringLiteral("after kill %1: %2").arg(i + 1).arg(logText(log))));
      tornLines += state.tornMetricsLine ? 1 : 0;
      midWrite += state.temporaries > 0 ? 1 : 0;
      qInfo("kill %zu/%d %s (step %lld, %d ms; resumed from %lld): latest checkpoint %lld, torn metrics line %s, "
            "temporaries %d",
            i + 1, kKills, momentName(kill.moment), static_cast<long long>(target), kill.delay_ms,
            static_cast<long long>(resumed), static_cast<long long>(latestStep(run)),
            state.tornMetricsLine ? "yes" : "no", state.temporaries);
    }
    qInfo("%d of %d kills left a torn metrics line, %d an unfinished checkpoint write", tornLines, kKills, midWrite);

    QProcess last;
    startTrain(last, resumeArguments(run), log);
    QVERIFY(last.waitForFinished(600000));
    QVERIFY2(last.exitStatus() == QProcess::NormalExit && last.exitCode() == 0, qPrintable(logText(log)));
    QCOMPARE(checkConsistent(run).temporaries, 0);  // what the killed writers left is cleared
    QCOMPARE(latestStep(run), std::int64_t{kSteps});
    const train::RunFolder folder(run, /*create=*/false);
    expectSameTensors(folder.checkpoint_path(kSteps), train::RunFolder(reference, false).checkpoint_path(kSteps));
    expectSameHistory(run, reference);
  }

  // A file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored) makes writes fail with EFBIG past it, as a
  // full disk fails them with ENOSPC, without root or a small file system.
  void checkpointWritePastAFullDiskFailsCleanly() {
    QTemporaryDir dir;
    const std::string preset = writeRecoveryPreset(dir);
    const std::string run = dir.filePath(QStringLiteral("run")).toStdString();
    t2i::test::CliRun result = t2i::test::runCli(freshArguments(preset, run, 2));
    QVERIFY2(result.exitCode == 0, qPrintable(result.err));
    const train::RunFolder folder(run, /*create=*/false);
    const auto room = static_cast<rlim_t>(fs::file_size(folder.checkpoint_path(2)) / 2);

    QProcess limited;
    limited.setChildProcessModifier([room] {
      const rlimit size{room, room};
      ::setrlimit(RLIMIT_FSIZE, &size);
      ::signal(SIGXFSZ, SIG_IGN);
    });
    limited.start(t2i::test::cliPath(), resumeArguments(run, kFourSteps));
    QVERIFY(limited.waitForFinished(300000));
    const QString err = QString::fromUtf8(limited.readAllStandardError());
    QCOMPARE(limited.exitStatus(), QProcess::NormalExit);
    QVERIFY2(limited.exitCode() != 0, qPrintable(err));
    QVERIFY2(err.contains(q(folder.checkpoint_path(4))) && err.contains(QStringLiteral("File too large")), qPrintable(err));
    checkConsistent(run);
    QCOMPARE(latestStep(run), std::int64_t{2});
    QCOMPARE(checkConsistent(run).temporaries, 0);  // nothing partial left behind

    result = t2i::test::runCli(resumeArguments(run, kFourSteps));
    QVERIFY2(result.exitCode == 0, qPrintable(result.err));
    QCOMPARE(latestStep(run), std::int64_t{4});
    const std::string reference = dir.filePath(QStringLiteral("uninterrupted")).toStdString();
    result = t2i::test::runCli(freshArguments(preset, reference, 4));
    QVERIFY2(result.exitCode == 0, qPrintable(result.err));
    expectSameTensors(folder.checkpoint_path(4), train::RunFolder(reference, false).checkpoint_path(4));
    expectSameHistory(run, reference);
  }
};

QTEST_GUILESS_MAIN(TestRecovery)
#include "test_recovery.moc"
