// Runs one core job at a time on its own named QThread, so the GUI thread never waits on the
// core. The job reads a cancel flag it is handed; its outcome comes back as a queued signal.
#pragma once

#include <QObject>
#include <QString>

#include <atomic>
#include <functional>

class QThread;

namespace t2i::ui {

class JobRunner : public QObject {
  Q_OBJECT
public:
  /// The work: runs on the worker thread, should return soon after `cancel` becomes true, and
  /// reports failure by throwing (std::exception's message reaches failed()).
  using Work = std::function<void(const std::atomic<bool>& cancel)>;

  explicit JobRunner(QObject* parent = nullptr);
  /// Cancels a running job and waits for its thread: a job must honour its cancel flag.
  ~JobRunner() override;

  /// Starts `work` on a new thread called `name`. Returns false (and starts nothing) while a
  /// job is still running.
  bool start(const QString& name, Work work);
  bool isRunning() const;
  /// Asks the running job to stop; finished() or failed() follows when it has.
  void cancel();
  bool cancelRequested() const { return cancel_.load(); }
  /// The flag handed to the work, for jobs that take it by pointer (e.g. core controls).
  const std::atomic<bool>& cancelFlag() const { return cancel_; }

Q_SIGNALS:
  void started(const QString& name);
  /// The job returned; `cancelled` tells whether a cancel was requested meanwhile.
  void finished(bool cancelled);
  void failed(const QString& message);

private:
  QThread* thread_ = nullptr;
  std::atomic<bool> cancel_{false};
};

} // namespace t2i::ui
