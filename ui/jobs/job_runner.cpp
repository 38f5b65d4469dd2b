#include "job_runner.h"

#include "sampling/image_conversion.h"

#include "t2i/log.h"

#include <QThread>

#include <exception>

namespace t2i::ui {

JobRunner::JobRunner(QObject* parent)
    : QObject(parent), progressFrame_(this, [this](ProgressFrame frame) { Q_EMIT progress(frame); }),
      previewFrame_(this, [this](PreviewFrame frame) { Q_EMIT previewed(frame); }) {
  context_.cancel = &cancel_;
  context_.on_progress = [this](const job::Progress& event) { report(event); };
}

JobRunner::~JobRunner() {
  if (thread_ == nullptr) return;
  cancel_.cancel();
  thread_->wait();
  delete thread_;
}

void JobRunner::cancel() { cancel_.cancel(); }

void JobRunner::report(const job::Progress& event) {
  if (event.snapshot) {
    PreviewFrame frame;
    frame.step = event.step;
    frame.grid = toQImage(event.snapshot->image);  // a deep copy, converted here rather than on the GUI thread
    for (const std::string& caption : event.snapshot->captions) frame.prompts << QString::fromStdString(caption);
    previewFrame_.post(std::move(frame));
  } else if (!event.stage.empty()) {
    progressFrame_.post({QString::fromStdString(event.stage), event.done, event.total});
  }
  if (!event.message.empty())
    QMetaObject::invokeMethod(
        this, [this, message = QString::fromStdString(event.message)] { Q_EMIT status(message); }, Qt::QueuedConnection);
}

bool JobRunner::start(const QString& name, Work work) {
  if (isRunning()) return false;
  if (thread_ != nullptr) {
    thread_->wait();
    delete thread_;
  }
  cancel_.reset();
  thread_ = QThread::create([this, work = std::move(work)] {
    QString error;
    try {
      work(context_);
    } catch (const std::exception& e) {
      error = QString::fromUtf8(e.what());
    } catch (...) {
      error = tr("unknown error");
    }
    // Queued to the runner's (GUI) thread: listeners never run on the worker.
    QMetaObject::invokeMethod(
        this,
        [this, error] {
          // The worker is past its last line: join it so a listener may start the next job.
          thread_->wait();
          running_ = false;
          if (error.isEmpty()) {
            Q_EMIT finished(cancel_.requested());
          } else {
            t2i::log::core()->error("{}", error.toStdString());
            Q_EMIT failed(error);
          }
        },
        Qt::QueuedConnection);
  });
  thread_->setObjectName(name);
  running_ = true;
  thread_->start(QThread::LowPriority);
  Q_EMIT started(name);
  return true;
}

} // namespace t2i::ui
