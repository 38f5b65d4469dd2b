#include "training/training_session.h"

#include "training/process_training.h"

namespace t2i::ui {

/// The trainer's observer: runs on the worker and only posts to the session's (GUI) thread.
class TrainingSession::Forwarder : public train::Observer {
public:
  explicit Forwarder(TrainingSession* session) : session_(session) {}

  void on_step(const train::StepMetrics& metrics) override { session_->stepBatch_.post(metrics); }
  void on_eval(const train::EvalMetrics& metrics) override {
    post([s = session_, metrics] { Q_EMIT s->evaluated(metrics); });
  }
  void on_checkpoint(const std::string& path, bool best) override {
    post([s = session_, p = QString::fromStdString(path), best] { Q_EMIT s->checkpointSaved(p, best); });
  }

private:
  template <typename F>
  void post(F call) {
    QMetaObject::invokeMethod(session_, std::move(call), Qt::QueuedConnection);
  }
  TrainingSession* session_;
};

TrainingSession::TrainingSession(QObject* parent)
    : QObject(parent), forwarder_(std::make_unique<Forwarder>(this)),
      stepBatch_(this, [this](std::vector<train::StepMetrics> batch) { Q_EMIT steps(batch); }),
      processTraining_(new ProcessTraining(this)) {
  connect(&runner_, &JobRunner::status, this, &TrainingSession::status);
  connect(&runner_, &JobRunner::progress, this, &TrainingSession::progress);
  connect(&runner_, &JobRunner::previewed, this, &TrainingSession::previewed);
  connect(&runner_, &JobRunner::finished, this, [this](bool) {
    train::Summary summary;
    {
      std::lock_guard<std::mutex> lock(summaryMutex_);
      summary = summary_;
    }
    Q_EMIT ended(summary);
  });
  connect(&runner_, &JobRunner::failed, this, &TrainingSession::failed);
  connect(processTraining_, &ProcessTraining::status, this, &TrainingSession::status);
  connect(processTraining_, &ProcessTraining::steps, this, &TrainingSession::steps);
  connect(processTraining_, &ProcessTraining::evaluated, this, &TrainingSession::evaluated);
  connect(processTraining_, &ProcessTraining::previewed, this, &TrainingSession::previewed);
  connect(processTraining_, &ProcessTraining::checkpointSaved, this, &TrainingSession::checkpointSaved);
  connect(processTraining_, &ProcessTraining::ended, this, &TrainingSession::ended);
  connect(processTraining_, &ProcessTraining::failed, this, &TrainingSession::failed);
}

TrainingSession::~TrainingSession() = default;

bool TrainingSession::start(const train::TrainOptions& options, int processes, int threads) {
  if (isRunning()) return false;
  options_ = options;
  processes_ = processes;
  pause_ = false;
  if (processes > 1) {
    const bool started = processTraining_->start(options, processes, threads);
    if (started) Q_EMIT this->started();
    return started;
  }
  const bool started = runner_.start(QStringLiteral("train"), [this, options](const job::Context& job) {
    const train::Summary summary = train::run(options, *forwarder_, job, &pause_);
    std::lock_guard<std::mutex> lock(summaryMutex_);
    summary_ = summary;
  });
  if (started) Q_EMIT this->started();
  return started;
}

bool TrainingSession::isRunning() const { return runner_.isRunning() || processTraining_->isRunning(); }

void TrainingSession::setCliProgram(const QString& program) { processTraining_->setProgram(program); }

void TrainingSession::setPaused(bool paused) { pause_ = paused; }

bool TrainingSession::isPaused() const { return pause_.load(); }

void TrainingSession::stop() {
  pause_ = false;
  if (processTraining_->isRunning())
    processTraining_->stop();
  else
    runner_.cancel();
}

bool TrainingSession::stopRequested() const { return runner_.cancelRequested() || processTraining_->stopRequested(); }

} // namespace t2i::ui
