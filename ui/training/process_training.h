// A data-parallel run of several local processes started from the studio. It goes through the
// CLI's own launcher, `t2i train --nproc N` (the path a terminal user takes, so the studio has no
// launcher of its own): rank 0 writes the run folder, which this follows (metrics.jsonl's steps,
// evaluations and previews, the checkpoints), and every rank's status lines come through the
// launcher's output. Stop sends the launcher SIGTERM, which it passes on to every worker: they
// agree to stop after the current step and rank 0 saves a checkpoint.
#pragma once

#include "jobs/job_runner.h"

#include "t2i/train.h"

#include <QObject>
#include <QProcess>
#include <QStringList>

#include <optional>
#include <string>
#include <vector>

class QTimer;

namespace t2i::ui {

/// `train` and its flags for `options`, `processes` local workers of `threads` threads each.
QStringList trainArguments(const train::TrainOptions& options, int processes, int threads);

class ProcessTraining : public QObject {
  Q_OBJECT
public:
  explicit ProcessTraining(QObject* parent = nullptr);
  /// Stops a running launcher and waits for it (only when the owner is destroyed mid-run).
  ~ProcessTraining() override;

  /// The `t2i` command-line program: by default the one installed beside the studio.
  void setProgram(const QString& program) { program_ = program; }
  const QString& program() const { return program_; }

  /// Starts the launcher; false (nothing started) while a run is going.
  bool start(const train::TrainOptions& options, int processes, int threads);
  bool isRunning() const { return process_->state() != QProcess::NotRunning; }
  void stop();
  bool stopRequested() const { return stopRequested_; }

Q_SIGNALS:
  void status(const QString& message);
  void steps(const std::vector<t2i::train::StepMetrics>& metrics);
  void evaluated(const t2i::train::EvalMetrics& metrics);
  void previewed(const t2i::ui::PreviewFrame& preview);
  void checkpointSaved(const QString& path, bool best);
  void ended(const t2i::train::Summary& summary);
  void failed(const QString& message);

private:
  /// Emits what the run folder holds beyond what was emitted already.
  void follow();
  void readOutput();
  void finish(int exitCode, QProcess::ExitStatus exitStatus);

  QString program_;
  QProcess* process_;
  QTimer* poll_;
  std::string runDir_;
  std::size_t stepsSeen_ = 0;
  std::size_t evalsSeen_ = 0;
  std::size_t previewsSeen_ = 0;
  std::string latestCheckpoint_;
  std::string bestCheckpoint_;
  std::optional<std::int64_t> bestStep_;
  QByteArray pending_;     ///< output after its last full line
  QStringList lastLines_;  ///< the latest output lines, for a failure's message
  QString stopReason_;     ///< from rank 0's closing line
  bool stopRequested_ = false;
};

} // namespace t2i::ui
