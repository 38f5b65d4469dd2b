// A data-parallel run of several local processes started from the studio. It goes through the
// CLI's own launcher, `t2i train --nproc N` (the path a terminal user takes, so the studio has no
// launcher of its own): rank 0 writes the run folder, which a RunFollower reads off the GUI thread
// (metrics.jsonl's steps, evaluations and previews, the checkpoints), and every rank's status lines
// come through the launcher's output. Stop sends the launcher SIGTERM, which it passes on to every worker: they
// agree to stop after the current step and rank 0 saves a checkpoint.
#pragma once

#include "jobs/job_runner.h"
#include "training/run_follower.h"

#include "t2i/train.h"

#include <QObject>
#include <QProcess>
#include <QStringList>

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

  /// Starts the launcher (a continued run's once its folder's present end is read); false
  /// (nothing started) while a run is going.
  bool start(const train::TrainOptions& options, int processes, int threads);
  /// From start() until ended() or failed(): the launcher and the last read of the folder.
  bool isRunning() const { return phase_ != Phase::Idle; }
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
  enum class Phase {
    Idle,
    Priming,    ///< reading where a continued run's folder ends, before the launcher starts
    Running,    ///< the launcher runs; the folder is polled
    Finishing,  ///< the launcher ended; reading what it wrote last
  };
  void launch();
  void onPolled(const QString& error);
  void readOutput();
  void finish(int exitCode, QProcess::ExitStatus exitStatus);
  /// ended() or failed(), once the folder is read to its end.
  void conclude(const QString& readError);

  QString program_;
  QProcess* process_;
  QTimer* poll_;
  RunFollower* follower_;
  Phase phase_ = Phase::Idle;
  QStringList arguments_;
  int exitCode_ = 0;
  QProcess::ExitStatus exitStatus_ = QProcess::NormalExit;
  QByteArray pending_;     ///< output after its last full line
  QStringList lastLines_;  ///< the latest output lines, for a failure's message
  QString stopReason_;     ///< from rank 0's closing line
  bool stopRequested_ = false;
};

} // namespace t2i::ui
