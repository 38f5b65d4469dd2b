// A view's background read of something a run keeps writing (its loss by noise level, its probe
// gallery): one read at a time on a JobRunner. A request while a read runs is kept, only the
// newest, and started once the running read's result has landed, since that read may predate
// what changed; so a burst of requests costs one more read and the newest result lands last.
#pragma once

#include "jobs/job_runner.h"

#include <QString>

#include <functional>
#include <memory>
#include <optional>
#include <utility>

namespace t2i::ui {

template <typename Result>
class CoalescingReload {
public:
  using Read = std::function<Result()>;                      ///< runs on the worker thread
  using Land = std::function<void(Result)>;                  ///< runs on the GUI thread
  using Fail = std::function<void(const QString& message)>;  ///< runs on the GUI thread

  /// `name`: the worker thread's; `land` shows a read's result, `fail` a read's error.
  CoalescingReload(QString name, Land land, Fail fail)
      : name_(std::move(name)), land_(std::move(land)), fail_(std::move(fail)) {
    QObject::connect(&runner_, &JobRunner::finished, &runner_, [this] {
      land_(std::move(*result_));
      startPending();
    });
    QObject::connect(&runner_, &JobRunner::failed, &runner_, [this](const QString& message) {
      fail_(message);
      startPending();
    });
  }

  /// Reads now, or once the running read has landed (replacing a request already waiting).
  void request(Read read) {
    if (runner_.isRunning())
      pending_ = std::move(read);
    else
      start(std::move(read));
  }

  bool isRunning() const { return runner_.isRunning(); }

private:
  void start(Read read) {
    result_ = std::make_shared<Result>();
    runner_.start(name_, [result = result_, read = std::move(read)](const job::Context&) { *result = read(); });
  }

  void startPending() {
    if (!pending_) return;
    Read next = std::move(*pending_);
    pending_.reset();
    start(std::move(next));
  }

  QString name_;
  Land land_;
  Fail fail_;
  std::shared_ptr<Result> result_;  ///< the running read's; the worker writes it before its outcome is queued
  std::optional<Read> pending_;
  JobRunner runner_;  ///< last: destroyed (cancelled and joined) before what its read and listeners use
};

} // namespace t2i::ui
