// A one-slot mailbox between a worker and the GUI thread: the worker posts as often as it
// likes, the GUI receives at most one pending delivery at a time and always the newest value,
// so fast producers (a denoising step every few ms) never pile events up.
#pragma once

#include <QMetaObject>
#include <QObject>

#include <functional>
#include <mutex>
#include <optional>

namespace t2i::ui {

template <typename T>
class LatestFrame {
public:
  /// `deliver` runs on `receiver`'s thread with the newest value.
  LatestFrame(QObject* receiver, std::function<void(T)> deliver) : receiver_(receiver), deliver_(std::move(deliver)) {}

  /// Called from any thread. Replaces an undelivered value; schedules one delivery if none is pending.
  void post(T value) {
    std::lock_guard<std::mutex> lock(mutex_);
    const bool schedule = !pending_.has_value();
    pending_ = std::move(value);
    if (schedule) QMetaObject::invokeMethod(receiver_, [this] { deliverPending(); }, Qt::QueuedConnection);
  }

private:
  void deliverPending() {
    std::optional<T> value;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      value.swap(pending_);
    }
    if (value) deliver_(std::move(*value));
  }

  QObject* receiver_;
  std::function<void(T)> deliver_;
  std::mutex mutex_;
  std::optional<T> pending_;
};

} // namespace t2i::ui
