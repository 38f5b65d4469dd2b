#include "data/dataset_job.h"

#include "jobs/job_runner.h"

namespace t2i::ui {

class DatasetJob::Forwarder : public train::Observer {
public:
  explicit Forwarder(DatasetJob* job) : job_(job) {}
  void on_status(const std::string& message) override {
    QMetaObject::invokeMethod(
        job_, [j = job_, m = QString::fromStdString(message)] { Q_EMIT j->status(m); }, Qt::QueuedConnection);
  }
  void on_progress(const std::string& phase, std::int64_t done, std::int64_t total) override {
    job_->progressFrame_.post({QString::fromStdString(phase), done, total});
  }

private:
  DatasetJob* job_;
};

DatasetJob::DatasetJob(QObject* parent)
    : QObject(parent), runner_(new JobRunner(this)), control_(std::make_unique<train::Control>()),
      forwarder_(std::make_unique<Forwarder>(this)),
      progressFrame_(this, [this](ProgressFrame frame) { Q_EMIT progress(frame); }) {
  connect(runner_, &JobRunner::finished, this, [this](bool cancelled) {
    {
      std::lock_guard<std::mutex> lock(resultMutex_);
      if (kind_ == Kind::Inspect)
        Q_EMIT inspected(report_);
      else
        Q_EMIT prepared(prepared_);
    }
    Q_EMIT finished(cancelled);
  });
  connect(runner_, &JobRunner::failed, this, [this](const QString& message) {
    Q_EMIT failed(message);
    Q_EMIT finished(control_->cancel.load());
  });
}

DatasetJob::~DatasetJob() {
  control_->cancel = true;
  delete runner_;  // joins the worker before the control and the observer it uses go away
}

bool DatasetJob::inspect(const data::Source& source, const data::SplitOptions& split) {
  if (isRunning()) return false;
  kind_ = Kind::Inspect;
  control_->cancel = false;
  return runner_->start(QStringLiteral("data"), [this, source, split](const std::atomic<bool>& cancel) {
    data::InspectOptions options;
    options.split = split;
    options.cancel = &cancel;
    options.progress = [this](const data::Progress& p) {
      progressFrame_.post({QString::fromStdString(p.stage), static_cast<std::int64_t>(p.done),
                           static_cast<std::int64_t>(p.total)});
    };
    data::DatasetReport report = data::inspect({source}, options);
    std::lock_guard<std::mutex> lock(resultMutex_);
    report_ = std::move(report);
  });
}

bool DatasetJob::prepare(const train::TrainOptions& options) {
  if (isRunning()) return false;
  kind_ = Kind::Prepare;
  control_->cancel = false;
  return runner_->start(QStringLiteral("data"), [this, options](const std::atomic<bool>&) {
    train::PreparedData prepared = train::prepare_data(options, *forwarder_, *control_);
    std::lock_guard<std::mutex> lock(resultMutex_);
    prepared_ = std::move(prepared);
  });
}

bool DatasetJob::isRunning() const { return runner_->isRunning(); }

void DatasetJob::cancel() {
  control_->cancel = true;
  runner_->cancel();
}

} // namespace t2i::ui
