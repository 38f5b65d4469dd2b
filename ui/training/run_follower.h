// Follows a training run that other processes write (`t2i train --nproc N` from the Train page):
// what its folder gains, metrics.jsonl's steps, evaluations and previews and new checkpoints,
// comes out as the trainer's signals. A poll reads on a worker thread (through JobRunner), and
// only what metrics.jsonl gained since the last poll; the new previews are decoded there too, so
// the GUI thread only emits, however long the run has been going.
#pragma once

#include "jobs/job_runner.h"

#include "t2i/runs.h"

#include <QObject>
#include <QString>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace t2i::ui {

class RunFollower : public QObject {
  Q_OBJECT
public:
  /// What one poll found in the folder.
  struct Found {
    train::MetricsUpdate metrics;
    std::vector<PreviewFrame> previews;  ///< metrics.previews' images, when asked for
    std::optional<train::RunCheckpoint> latest;
    std::optional<train::RunCheckpoint> best;
  };
  /// Reads `run_dir` beyond `since` (and the previews' images with `images`). Runs on the worker.
  using Reader = std::function<Found(const std::string& run_dir, const train::MetricsPosition& since, bool images)>;
  static Found read(const std::string& run_dir, const train::MetricsPosition& since, bool images);

  explicit RunFollower(QObject* parent = nullptr);

  /// Replaces read() (tests wrap it to see where and from where it reads).
  void setReader(Reader reader) { reader_ = std::move(reader); }

  /// Follows `run_dir` from its start; with `shown`, the run's history is on the page already: the
  /// first poll emits nothing, and a run resumed from its latest checkpoint then emits only the
  /// events after that checkpoint's step, even when the trainer rewrites metrics.jsonl.
  void begin(const std::string& run_dir, bool shown);
  /// Reads what the folder gained, then emits it and polled(). While a read is going this asks
  /// for one more after it, so the last polled() covers everything written before this call.
  void poll();
  bool isReading() const { return reading_; }

  /// What the run has reached so far: its last step, checkpoints and best evaluation.
  train::Summary summary() const;

Q_SIGNALS:
  void steps(const std::vector<t2i::train::StepMetrics>& metrics);
  void evaluated(const t2i::train::EvalMetrics& metrics);
  void previewed(const t2i::ui::PreviewFrame& preview);
  void checkpointSaved(const QString& path, bool best);
  /// The reads asked for are done and emitted; `error` says why the last one failed (else empty).
  void polled(const QString& error);

private:
  void startRead();
  void onRead();
  void onReadFailed(const QString& message);
  /// Emits what `found` adds to what was emitted before (nothing while priming).
  void take(Found& found, bool announce);
  void takeCheckpoints(const Found& found, bool announce);

  JobRunner* runner_;
  Reader reader_;
  std::shared_ptr<Found> found_;  ///< the read in flight's result
  bool reading_ = false;
  bool again_ = false;    ///< a poll came while reading
  bool priming_ = false;  ///< the next read is the one whose events are on the page already
  std::string runDir_;
  train::MetricsPosition position_;
  std::int64_t keptStep_ = 0;  ///< a rewritten metrics.jsonl re-emits only events after this step
  std::int64_t lastStep_ = 0;
  std::vector<train::EvalMetrics> evals_;
  std::optional<train::RunCheckpoint> latest_;
  std::optional<train::RunCheckpoint> best_;
};

} // namespace t2i::ui
