// The studio's one job wrapper: runs one core job at a time on its own named QThread, so the GUI
// thread never waits on the core, and turns the job protocol (t2i/job.h) into queued signals:
// status lines in order, counts and snapshots through one-slot mailboxes (only the newest
// reaches the GUI, so a fast job never floods the event loop), the outcome last. The cancel
// token it hands the job is its Cancel button.
#pragma once

#include "jobs/latest_frame.h"

#include "t2i/job.h"

#include <QImage>
#include <QObject>
#include <QString>
#include <QStringList>

#include <functional>

class QThread;

namespace t2i::ui {

/// A count of the job protocol, for a progress bar.
struct ProgressFrame {
  QString phase;
  std::int64_t done = 0;
  std::int64_t total = 0;  ///< 0 = not known
};

/// A snapshot of the job protocol (a training run's sample grid), as a Qt image.
struct PreviewFrame {
  std::int64_t step = 0;
  QImage grid;
  QStringList prompts;
};

class JobRunner : public QObject {
  Q_OBJECT
public:
  /// The work: runs on the worker thread, should return soon after `job`'s token is cancelled,
  /// and reports failure by throwing (std::exception's message reaches failed()).
  using Work = std::function<void(const job::Context& job)>;

  explicit JobRunner(QObject* parent = nullptr);
  /// Cancels a running job and waits for its thread: a job must honour its cancel token.
  ~JobRunner() override;

  /// Starts `work` on a new thread called `name`. Returns false (and starts nothing) while a
  /// job is still running.
  bool start(const QString& name, Work work);
  /// From start() until finished() or failed() is emitted: a job whose thread has returned but
  /// whose outcome is still queued counts as running, so no second job starts in between and
  /// has the first one's outcome reported as its own.
  bool isRunning() const { return running_; }
  /// Asks the running job to stop; finished() or failed() follows when it has.
  void cancel();
  bool cancelRequested() const { return cancel_.requested(); }

Q_SIGNALS:
  void started(const QString& name);
  void status(const QString& message);
  void progress(const t2i::ui::ProgressFrame& frame);
  void previewed(const t2i::ui::PreviewFrame& frame);
  /// The job returned; `cancelled` tells whether a cancel was requested meanwhile.
  void finished(bool cancelled);
  void failed(const QString& message);

private:
  /// Worker side: one event of the protocol to its signal.
  void report(const job::Progress& event);

  QThread* thread_ = nullptr;
  bool running_ = false;  ///< GUI thread only
  job::CancelToken cancel_;
  job::Context context_;
  LatestFrame<ProgressFrame> progressFrame_;
  LatestFrame<PreviewFrame> previewFrame_;
};

} // namespace t2i::ui
