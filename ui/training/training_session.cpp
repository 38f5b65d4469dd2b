#include "training/training_session.h"

#include "jobs/job_runner.h"
#include "sampling/image_conversion.h"

namespace t2i::ui {

/// The trainer's observer: runs on the worker and only posts to the session's (GUI) thread.
class TrainingSession::Forwarder : public train::Observer {
public:
  explicit Forwarder(TrainingSession* session) : session_(session) {}

  void on_status(const std::string& message) override {
    post([s = session_, m = QString::fromStdString(message)] { Q_EMIT s->status(m); });
  }
  void on_progress(const std::string& phase, std::int64_t done, std::int64_t total) override {
    session_->progressFrame_.post({QString::fromStdString(phase), done, total});
  }
  void on_step(const train::StepMetrics& metrics) override { session_->stepBatch_.post(metrics); }
  void on_eval(const train::EvalMetrics& metrics) override {
    post([s = session_, metrics] { Q_EMIT s->evaluated(metrics); });
  }
  void on_preview(const train::Preview& preview) override {
    PreviewFrame frame;
    frame.step = preview.step;
    frame.grid = toQImage(preview.grid);  // a deep copy, converted here rather than on the GUI thread
    for (const std::string& prompt : preview.prompts) frame.prompts << QString::fromStdString(prompt);
    session_->previewFrame_.post(std::move(frame));
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
    : QObject(parent), runner_(new JobRunner(this)), control_(std::make_unique<train::Control>()),
      forwarder_(std::make_unique<Forwarder>(this)),
      stepBatch_(this, [this](std::vector<train::StepMetrics> batch) { Q_EMIT steps(batch); }),
      previewFrame_(this, [this](PreviewFrame frame) { Q_EMIT previewed(frame); }),
      progressFrame_(this, [this](ProgressFrame frame) { Q_EMIT progress(frame); }) {
  connect(runner_, &JobRunner::finished, this, [this](bool) {
    train::Summary summary;
    {
      std::lock_guard<std::mutex> lock(summaryMutex_);
      summary = summary_;
    }
    Q_EMIT ended(summary);
  });
  connect(runner_, &JobRunner::failed, this, &TrainingSession::failed);
}

TrainingSession::~TrainingSession() {
  control_->cancel = true;
  control_->pause = false;
  delete runner_;  // joins the worker before the control and the observer it uses go away
}

bool TrainingSession::start(const train::TrainOptions& options) {
  if (isRunning()) return false;
  options_ = options;
  control_->cancel = false;
  control_->pause = false;
  const bool started = runner_->start(QStringLiteral("train"), [this, options](const std::atomic<bool>&) {
    const train::Summary summary = train::run(options, *forwarder_, *control_);
    std::lock_guard<std::mutex> lock(summaryMutex_);
    summary_ = summary;
  });
  if (started) Q_EMIT this->started();
  return started;
}

bool TrainingSession::isRunning() const { return runner_->isRunning(); }

void TrainingSession::setPaused(bool paused) { control_->pause = paused; }

bool TrainingSession::isPaused() const { return control_->pause.load(); }

void TrainingSession::stop() {
  control_->cancel = true;
  control_->pause = false;
  runner_->cancel();
}

bool TrainingSession::stopRequested() const { return control_->cancel.load(); }

} // namespace t2i::ui
