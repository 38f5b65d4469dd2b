// A mailbox that keeps every value (unlike LatestFrame, which keeps only the newest): the
// worker appends as often as it likes, the GUI receives them in order, in batches, with at most
// one delivery pending, so a fast producer (a training step every few ms) costs one event per
// GUI-loop turn instead of one per value.
#pragma once

#include <QMetaObject>
#include <QObject>

#include <functional>
#include <mutex>
#include <vector>

namespace t2i::ui {

template <typename T>
class EventBatch {
public:
  /// `deliver` runs on `receiver`'s thread with every value posted since the last delivery.
  EventBatch(QObject* receiver, std::function<void(std::vector<T>)> deliver)
      : receiver_(receiver), deliver_(std::move(deliver)) {}

  /// Called from any thread. Schedules one delivery if none is pending.
  void post(T value) {
    std::lock_guard<std::mutex> lock(mutex_);
    const bool schedule = pending_.empty();
    pending_.push_back(std::move(value));
    if (schedule) QMetaObject::invokeMethod(receiver_, [this] { deliverPending(); }, Qt::QueuedConnection);
  }

private:
  void deliverPending() {
    std::vector<T> values;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      values.swap(pending_);
    }
    if (!values.empty()) deliver_(std::move(values));
  }

  QObject* receiver_;
  std::function<void(std::vector<T>)> deliver_;
  std::mutex mutex_;
  std::vector<T> pending_;
};

} // namespace t2i::ui
