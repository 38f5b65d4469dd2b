// One training run driven from the studio: the core trainer runs on a worker thread named
// "train" (through JobRunner), and its events come back to the GUI thread as signals. Steps
// arrive in batches and previews and progress through one-slot mailboxes, so a fast trainer
// never floods the event loop. Stop asks the trainer to finish the current step and write a
// checkpoint; the GUI never waits for it. A run of several processes goes to ProcessTraining
// instead, which reports through the same signals.
#pragma once

#include "jobs/event_batch.h"
#include "jobs/job_runner.h"

#include "t2i/train.h"

#include <QObject>

#include <memory>
#include <mutex>
#include <vector>

namespace t2i::ui {

class ProcessTraining;

class TrainingSession : public QObject {
  Q_OBJECT
public:
  explicit TrainingSession(QObject* parent = nullptr);
  /// Stops a running trainer and waits for it (only when the owner is destroyed mid-run).
  ~TrainingSession() override;

  /// Starts training; false (nothing started) while a run is going. `processes` > 1: that many
  /// local data-parallel worker processes of `threads` threads each (through `t2i train --nproc`).
  bool start(const train::TrainOptions& options, int processes = 1, int threads = 1);
  bool isRunning() const;
  /// A run of several processes: it cannot pause (the workers step together).
  bool isMultiProcess() const { return processes_ > 1; }
  /// The `t2i` program that runs several processes (default: the one beside the studio).
  void setCliProgram(const QString& program);

  /// Holds the trainer between steps, or lets it go on.
  void setPaused(bool paused);
  bool isPaused() const;

  /// Asks the trainer to stop after the current micro-batch and save a checkpoint; ended() follows.
  void stop();
  bool stopRequested() const;

  const train::TrainOptions& options() const { return options_; }

Q_SIGNALS:
  void started();
  void status(const QString& message);
  void progress(const t2i::ui::ProgressFrame& frame);
  void steps(const std::vector<t2i::train::StepMetrics>& metrics);
  void evaluated(const t2i::train::EvalMetrics& metrics);
  void previewed(const t2i::ui::PreviewFrame& preview);
  void checkpointSaved(const QString& path, bool best);
  /// The trainer returned (finished, stopped early or cancelled).
  void ended(const t2i::train::Summary& summary);
  void failed(const QString& message);

private:
  class Forwarder;

  std::unique_ptr<Forwarder> forwarder_;
  EventBatch<train::StepMetrics> stepBatch_;
  train::Pause pause_{false};
  train::TrainOptions options_;
  int processes_ = 1;
  ProcessTraining* processTraining_;
  std::mutex summaryMutex_;
  train::Summary summary_;
  JobRunner runner_;  ///< last: destroyed (cancelled and joined) before what its job touches
};

} // namespace t2i::ui
