#include "training/process_training.h"

#include "t2i/runtime.h"

#include <QCoreApplication>
#include <QDir>
#include <QTimer>

namespace t2i::ui {
namespace {

constexpr int kFollowIntervalMs = 500;
constexpr int kFailureLines = 6;
// Rank 0's closing line (cli_train.cpp): "stopped after N steps: REASON".
const QString kStoppedPrefix = QStringLiteral("stopped after ");

QString text(const std::string& value) { return QString::fromStdString(value); }

} // namespace

QStringList trainArguments(const train::TrainOptions& o, int processes, int threads) {
  QStringList arguments{QStringLiteral("train"), QStringLiteral("--out"), text(o.run_dir)};
  if (o.resume) arguments << QStringLiteral("--resume");
  else arguments << QStringLiteral("--preset") << text(o.preset);
  if (o.data.demo) {
    arguments << QStringLiteral("--demo") << QStringLiteral("--demo-images") << QString::number(o.data.demo_images);
  } else if (!o.data.annotations.empty()) {
    arguments << QStringLiteral("--annotations") << text(o.data.annotations) << QStringLiteral("--max-images")
              << QString::number(o.data.max_images);
    if (!o.data.images_dir.empty()) arguments << QStringLiteral("--images") << text(o.data.images_dir);
  }
  if (!o.data.cache_dir.empty()) arguments << QStringLiteral("--cache") << text(o.data.cache_dir);
  arguments << QStringLiteral("--device") << text(o.device);
  if (!o.t5_dir.empty()) arguments << QStringLiteral("--t5") << text(o.t5_dir);
  if (!o.inception_weights.empty()) arguments << QStringLiteral("--inception") << text(o.inception_weights);
  arguments << QStringLiteral("--fid-samples") << QString::number(o.fid_samples) << QStringLiteral("--select")
            << (o.selection == train::Selection::ValP2 ? QStringLiteral("p2") : QStringLiteral("p2+fid"))
            << QStringLiteral("--max-steps") << QString::number(o.max_steps);
  if (o.max_minutes > 0) arguments << QStringLiteral("--max-minutes") << QString::number(o.max_minutes, 'g', 17);
  if (o.overfit_one_batch)
    arguments << QStringLiteral("--overfit-one-batch") << QStringLiteral("--overfit-images") << QString::number(o.overfit_images);
  arguments << QStringLiteral("--seed") << QString::number(o.seed) << QStringLiteral("--keep") << QString::number(o.keep_last)
            << QStringLiteral("--preview-every") << QString::number(o.preview_every) << QStringLiteral("--bf16")
            << (o.precision == runtime::Precision::Auto       ? QStringLiteral("auto")
                : o.precision == runtime::Precision::BFloat16 ? QStringLiteral("on")
                                                              : QStringLiteral("off"));
  if (o.activation_checkpointing) arguments << QStringLiteral("--checkpointing");
  if (!o.probe_gallery) arguments << QStringLiteral("--no-probes");
  for (const std::string& prompt : o.probe_prompts) arguments << QStringLiteral("--probe-prompt") << text(prompt);
  arguments << QStringLiteral("--timeout") << QString::number(o.collective_timeout_seconds) << QStringLiteral("--nproc")
            << QString::number(processes) << QStringLiteral("--threads") << QString::number(threads);
  return arguments;
}

ProcessTraining::ProcessTraining(QObject* parent)
    : QObject(parent), program_(QDir(QCoreApplication::applicationDirPath()).filePath(QStringLiteral("t2i"))),
      process_(new QProcess(this)), poll_(new QTimer(this)), follower_(new RunFollower(this)) {
  process_->setProcessChannelMode(QProcess::MergedChannels);
  poll_->setInterval(kFollowIntervalMs);
  connect(poll_, &QTimer::timeout, follower_, &RunFollower::poll);
  connect(follower_, &RunFollower::steps, this, &ProcessTraining::steps);
  connect(follower_, &RunFollower::evaluated, this, &ProcessTraining::evaluated);
  connect(follower_, &RunFollower::previewed, this, &ProcessTraining::previewed);
  connect(follower_, &RunFollower::checkpointSaved, this, &ProcessTraining::checkpointSaved);
  connect(follower_, &RunFollower::polled, this, &ProcessTraining::onPolled);
  connect(process_, &QProcess::readyRead, this, &ProcessTraining::readOutput);
  connect(process_, &QProcess::finished, this, &ProcessTraining::finish);
  connect(process_, &QProcess::errorOccurred, this, [this](QProcess::ProcessError error) {
    if (error != QProcess::FailedToStart) return;
    poll_->stop();
    phase_ = Phase::Idle;
    Q_EMIT failed(tr("cannot start %1: %2").arg(QDir::toNativeSeparators(program_), process_->errorString()));
  });
}

ProcessTraining::~ProcessTraining() {
  if (process_->state() == QProcess::NotRunning) return;
  disconnect(process_, nullptr, this, nullptr);
  process_->terminate();
  if (!process_->waitForFinished(60'000)) process_->kill();
}

bool ProcessTraining::start(const train::TrainOptions& options, int processes, int threads) {
  if (isRunning()) return false;
  arguments_ = trainArguments(options, processes, threads);
  pending_.clear();
  lastLines_.clear();
  stopReason_.clear();
  stopRequested_ = false;
  // A continued run's earlier history is the page's already (it opened the run): follow from its
  // present end, read before the launcher may rewrite the file.
  follower_->begin(options.run_dir, options.resume);
  if (!options.resume) {
    launch();
    return true;
  }
  phase_ = Phase::Priming;
  follower_->poll();
  return true;
}

void ProcessTraining::launch() {
  phase_ = Phase::Running;
  process_->start(program_, arguments_);
  poll_->start();
}

void ProcessTraining::stop() {
  if (stopRequested_ || !isRunning() || phase_ == Phase::Finishing) return;
  stopRequested_ = true;
  if (phase_ == Phase::Running) process_->terminate();
}

void ProcessTraining::onPolled(const QString& error) {
  if (phase_ == Phase::Priming && !stopRequested_) {
    launch();  // also when the folder could not be read: the launcher says why it cannot continue it
  } else if (phase_ == Phase::Priming) {
    phase_ = Phase::Idle;
    train::Summary summary = follower_->summary();
    summary.stop_reason = "cancelled";
    Q_EMIT ended(summary);
  } else if (phase_ == Phase::Finishing) {
    conclude(error);
  }
  // While the run goes, a read that fails (a damaged line) is retried at the next poll; the last
  // read's failure is reported.
}

void ProcessTraining::readOutput() {
  pending_ += process_->readAll();
  for (qsizetype end = pending_.indexOf('\n'); end >= 0; end = pending_.indexOf('\n')) {
    // A progress line rewritten in place ends in '\r' pieces: the last one is the line.
    const QStringList pieces = QString::fromUtf8(pending_.left(end)).split(QLatin1Char('\r'), Qt::SkipEmptyParts);
    const QString line = pieces.isEmpty() ? QString() : pieces.last().trimmed();
    pending_.remove(0, end + 1);
    if (line.isEmpty()) continue;
    if (line.startsWith(kStoppedPrefix)) stopReason_ = line.section(QStringLiteral(": "), 1);
    lastLines_ << line;
    while (lastLines_.size() > kFailureLines) lastLines_.removeFirst();
    Q_EMIT status(line);
  }
}

void ProcessTraining::finish(int exitCode, QProcess::ExitStatus exitStatus) {
  poll_->stop();
  readOutput();
  exitCode_ = exitCode;
  exitStatus_ = exitStatus;
  phase_ = Phase::Finishing;
  follower_->poll();
}

void ProcessTraining::conclude(const QString& readError) {
  phase_ = Phase::Idle;
  if (exitStatus_ != QProcess::NormalExit || exitCode_ != 0) {
    Q_EMIT failed(lastLines_.isEmpty() ? tr("the training processes stopped with status %1").arg(exitCode_)
                                       : lastLines_.join(QLatin1Char('\n')));
    return;
  }
  if (!readError.isEmpty()) {
    Q_EMIT failed(readError);
    return;
  }
  train::Summary summary = follower_->summary();
  summary.stop_reason = stopReason_.toStdString();
  Q_EMIT ended(summary);
}

} // namespace t2i::ui
