#include "job_runner.h"

#include "t2i/log.h"

#include <QThread>

#include <exception>

namespace t2i::ui {

JobRunner::JobRunner(QObject* parent) : QObject(parent) {}

JobRunner::~JobRunner() {
  if (thread_ == nullptr) return;
  cancel_ = true;
  thread_->wait();
  delete thread_;
}

bool JobRunner::isRunning() const { return thread_ != nullptr && thread_->isRunning(); }

void JobRunner::cancel() { cancel_ = true; }

bool JobRunner::start(const QString& name, Work work) {
  if (isRunning()) return false;
  if (thread_ != nullptr) {
    thread_->wait();
    delete thread_;
  }
  cancel_ = false;
  thread_ = QThread::create([this, work = std::move(work)] {
    QString error;
    try {
      work(cancel_);
    } catch (const std::exception& e) {
      error = QString::fromUtf8(e.what());
    } catch (...) {
      error = tr("unknown error");
    }
    // Queued to the runner's (GUI) thread: listeners never run on the worker.
    QThread* self = QThread::currentThread();
    QMetaObject::invokeMethod(
        this,
        [this, error, self] {
          // The worker is past its last line: join it so a listener may start the next job.
          if (self == thread_) thread_->wait();
          if (error.isEmpty()) {
            Q_EMIT finished(cancel_.load());
          } else {
            t2i::log::core()->error("{}", error.toStdString());
            Q_EMIT failed(error);
          }
        },
        Qt::QueuedConnection);
  });
  thread_->setObjectName(name);
  thread_->start(QThread::LowPriority);
  Q_EMIT started(name);
  return true;
}

} // namespace t2i::ui
