#include "data/dataset_job.h"

namespace t2i::ui {

DatasetJob::DatasetJob(QObject* parent) : QObject(parent) {
  connect(&runner_, &JobRunner::status, this, &DatasetJob::status);
  connect(&runner_, &JobRunner::progress, this, &DatasetJob::progress);
  connect(&runner_, &JobRunner::finished, this, [this](bool cancelled) {
    {
      std::lock_guard<std::mutex> lock(resultMutex_);
      if (kind_ == Kind::Inspect)
        Q_EMIT inspected(report_);
      else
        Q_EMIT prepared(prepared_);
    }
    Q_EMIT finished(cancelled);
  });
  connect(&runner_, &JobRunner::failed, this, [this](const QString& message) {
    Q_EMIT failed(message);
    Q_EMIT finished(runner_.cancelRequested());
  });
}

bool DatasetJob::inspect(const data::Source& source, const data::SplitOptions& split) {
  if (isRunning()) return false;
  kind_ = Kind::Inspect;
  return runner_.start(QStringLiteral("data"), [this, source, split](const job::Context& job) {
    data::InspectOptions options;
    options.split = split;
    data::DatasetReport report = data::inspect({source}, options, job);
    std::lock_guard<std::mutex> lock(resultMutex_);
    report_ = std::move(report);
  });
}

bool DatasetJob::prepare(const train::TrainOptions& options) {
  if (isRunning()) return false;
  kind_ = Kind::Prepare;
  return runner_.start(QStringLiteral("data"), [this, options](const job::Context& job) {
    train::PreparedData prepared = train::prepare_data(options, job);
    std::lock_guard<std::mutex> lock(resultMutex_);
    prepared_ = std::move(prepared);
  });
}

} // namespace t2i::ui
