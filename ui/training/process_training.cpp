#include "training/process_training.h"

#include "t2i/runs.h"
#include "t2i/runtime.h"

#include <QCoreApplication>
#include <QDir>
#include <QImage>
#include <QTimer>

#include <algorithm>

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
      process_(new QProcess(this)), poll_(new QTimer(this)) {
  process_->setProcessChannelMode(QProcess::MergedChannels);
  poll_->setInterval(kFollowIntervalMs);
  connect(poll_, &QTimer::timeout, this, &ProcessTraining::follow);
  connect(process_, &QProcess::readyRead, this, &ProcessTraining::readOutput);
  connect(process_, &QProcess::finished, this, &ProcessTraining::finish);
  connect(process_, &QProcess::errorOccurred, this, [this](QProcess::ProcessError error) {
    if (error != QProcess::FailedToStart) return;
    poll_->stop();
    Q_EMIT failed(tr("cannot start %1: %2").arg(QDir::toNativeSeparators(program_), process_->errorString()));
  });
}

ProcessTraining::~ProcessTraining() {
  if (!isRunning()) return;
  disconnect(process_, nullptr, this, nullptr);
  process_->terminate();
  if (!process_->waitForFinished(60'000)) process_->kill();
}

bool ProcessTraining::start(const train::TrainOptions& options, int processes, int threads) {
  if (isRunning()) return false;
  runDir_ = options.run_dir;
  stepsSeen_ = evalsSeen_ = previewsSeen_ = 0;
  latestCheckpoint_.clear();
  bestCheckpoint_.clear();
  bestStep_.reset();
  pending_.clear();
  lastLines_.clear();
  stopReason_.clear();
  stopRequested_ = false;
  // A continued run's earlier history is the page's already (it opened the run): follow from here.
  if (options.resume) {
    try {
      const train::History history = train::read_history(runDir_);
      stepsSeen_ = history.steps.size();
      evalsSeen_ = history.evals.size();
      previewsSeen_ = history.previews.size();
      latestCheckpoint_ = history.latest_checkpoint;
      bestCheckpoint_ = history.best_checkpoint;
      bestStep_ = history.best_step;
    } catch (const std::exception&) {
      // The launcher reports a folder it cannot resume.
    }
  }
  process_->start(program_, trainArguments(options, processes, threads));
  poll_->start();
  return true;
}

void ProcessTraining::stop() {
  if (!isRunning() || stopRequested_) return;
  stopRequested_ = true;
  process_->terminate();
}

void ProcessTraining::follow() {
  train::History history;
  try {
    history = train::read_history(runDir_);
  } catch (const std::exception&) {
    return;  // not a run folder yet: the workers are still starting
  }
  if (history.steps.size() > stepsSeen_) {
    const std::vector<train::StepMetrics> fresh(history.steps.begin() + static_cast<std::ptrdiff_t>(stepsSeen_),
                                                history.steps.end());
    Q_EMIT steps(fresh);
    stepsSeen_ = history.steps.size();
  }
  for (; evalsSeen_ < history.evals.size(); ++evalsSeen_) Q_EMIT evaluated(history.evals[evalsSeen_]);
  for (; previewsSeen_ < history.previews.size(); ++previewsSeen_) {
    const auto& [step, path] = history.previews[previewsSeen_];
    Q_EMIT previewed(PreviewFrame{step, QImage(text(path)), {}});
  }
  if (!history.latest_checkpoint.empty() && history.latest_checkpoint != latestCheckpoint_) {
    latestCheckpoint_ = history.latest_checkpoint;
    Q_EMIT checkpointSaved(text(latestCheckpoint_), false);
  }
  if (!history.best_checkpoint.empty() && (history.best_checkpoint != bestCheckpoint_ || history.best_step != bestStep_)) {
    bestCheckpoint_ = history.best_checkpoint;
    bestStep_ = history.best_step;
    Q_EMIT checkpointSaved(text(bestCheckpoint_), true);
  }
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
  follow();
  if (exitStatus != QProcess::NormalExit || exitCode != 0) {
    Q_EMIT failed(lastLines_.isEmpty() ? tr("the training processes stopped with status %1").arg(exitCode)
                                       : lastLines_.join(QLatin1Char('\n')));
    return;
  }
  train::Summary summary;
  train::History history;
  try {
    history = train::read_history(runDir_);
  } catch (const std::exception& error) {
    Q_EMIT failed(QString::fromUtf8(error.what()));
    return;
  }
  if (!history.steps.empty()) summary.steps = history.steps.back().step;
  summary.stop_reason = stopReason_.toStdString();
  summary.best_checkpoint = history.best_checkpoint;
  summary.last_checkpoint = history.latest_checkpoint;
  for (const train::EvalMetrics& eval : history.evals)
    if (history.best_step && eval.step == *history.best_step) summary.best_val_p2 = eval.val_p2;
  Q_EMIT ended(summary);
}

} // namespace t2i::ui
