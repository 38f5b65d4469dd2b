#include "training/run_follower.h"

#include <QImage>

#include <algorithm>

namespace t2i::ui {

RunFollower::Found RunFollower::read(const std::string& run_dir, const train::MetricsPosition& since, bool images) {
  Found found;
  found.metrics = train::read_metrics_update(run_dir, since);
  if (images)
    for (const auto& [step, path] : found.metrics.previews)
      found.previews.push_back(PreviewFrame{step, QImage(QString::fromStdString(path)), {}});
  if (auto checkpoints = train::step_checkpoints(run_dir); !checkpoints.empty()) found.latest = std::move(checkpoints.back());
  found.best = train::best_checkpoint(run_dir);
  return found;
}

RunFollower::RunFollower(QObject* parent) : QObject(parent), runner_(new JobRunner(this)), reader_(&RunFollower::read) {
  connect(runner_, &JobRunner::finished, this, &RunFollower::onRead);
  connect(runner_, &JobRunner::failed, this, &RunFollower::onReadFailed);
}

void RunFollower::begin(const std::string& run_dir, bool shown) {
  runDir_ = run_dir;
  priming_ = shown;
  position_ = {};
  keptStep_ = lastStep_ = 0;
  evals_.clear();
  latest_.reset();
  best_.reset();
}

void RunFollower::poll() {
  if (reading_) {
    again_ = true;
    return;
  }
  startRead();
}

void RunFollower::startRead() {
  reading_ = true;
  again_ = false;
  found_ = std::make_shared<Found>();
  runner_->start(QStringLiteral("follow run"),
                 [found = found_, reader = reader_, dir = runDir_, since = position_, images = !priming_](const job::Context&) {
                   *found = reader(dir, since, images);
                 });
}

void RunFollower::onRead() {
  take(*found_, !priming_);
  if (priming_) keptStep_ = latest_ ? latest_->step : 0;
  priming_ = false;
  reading_ = false;
  if (again_)
    startRead();
  else
    Q_EMIT polled(QString());
}

void RunFollower::onReadFailed(const QString& message) {
  reading_ = false;
  if (again_)
    startRead();
  else
    Q_EMIT polled(message);
}

void RunFollower::take(Found& found, bool announce) {
  train::MetricsUpdate& m = found.metrics;
  position_ = m.position;
  if (m.restarted) {
    // The file now holds the history up to the resumed checkpoint, emitted already, and the steps
    // redone after it.
    const auto shown = [this](const auto& event) { return event.step <= keptStep_; };
    m.steps.erase(std::remove_if(m.steps.begin(), m.steps.end(), shown), m.steps.end());
    m.evals.erase(std::remove_if(m.evals.begin(), m.evals.end(), shown), m.evals.end());
    found.previews.erase(std::remove_if(found.previews.begin(), found.previews.end(), shown), found.previews.end());
    evals_.erase(std::remove_if(evals_.begin(), evals_.end(), shown), evals_.end());
  }
  if (!m.steps.empty()) lastStep_ = m.steps.back().step;
  evals_.insert(evals_.end(), m.evals.begin(), m.evals.end());
  if (announce) {
    if (!m.steps.empty()) Q_EMIT steps(m.steps);
    for (const train::EvalMetrics& eval : m.evals) Q_EMIT evaluated(eval);
    for (const PreviewFrame& preview : found.previews) Q_EMIT previewed(preview);
  }
  takeCheckpoints(found, announce);
}

void RunFollower::takeCheckpoints(const Found& found, bool announce) {
  if (found.latest && (!latest_ || latest_->path != found.latest->path)) {
    latest_ = found.latest;
    if (announce) Q_EMIT checkpointSaved(QString::fromStdString(latest_->path), false);
  }
  if (found.best && (!best_ || best_->step != found.best->step)) {
    best_ = found.best;
    if (announce) Q_EMIT checkpointSaved(QString::fromStdString(best_->path), true);
  }
}

train::Summary RunFollower::summary() const {
  train::Summary summary;
  summary.steps = lastStep_;
  if (latest_) summary.last_checkpoint = latest_->path;
  if (best_) {
    summary.best_checkpoint = best_->path;
    for (const train::EvalMetrics& eval : evals_)
      if (eval.step == best_->step) summary.best_val_p2 = eval.val_p2;
  }
  return summary;
}

} // namespace t2i::ui
