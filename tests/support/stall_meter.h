// How long the GUI event loop went without running: the studio's GUI tests bound it while work
// runs on worker threads (ui/ never blocks the GUI thread).
#pragma once

#include <QElapsedTimer>
#include <QTimer>

#include <algorithm>

namespace t2i::test {

/// The longest gap a GUI-thread stall may open, on a loaded 2-core machine: far above a timer's
/// scheduling jitter there, far below a freeze a user notices.
inline constexpr qint64 kGuiStallBoundMs = 250;

/// The longest gap between ticks of a 5 ms GUI-thread timer between start() and stop().
class StallMeter {
public:
  StallMeter() {
    QObject::connect(&timer_, &QTimer::timeout, [this] {
      const qint64 now = clock_.elapsed();
      longest_ = std::max(longest_, now - last_);
      last_ = now;
    });
  }
  void start() {
    longest_ = 0;
    last_ = 0;
    clock_.start();
    timer_.start(5);
  }
  qint64 stop() {
    timer_.stop();
    return std::max(longest_, clock_.elapsed() - last_);
  }
  /// Runs the test's own GUI-thread work (a screenshot, say) without counting it as a stall.
  template <typename Work>
  void exclude(Work&& work) {
    longest_ = std::max(longest_, clock_.elapsed() - last_);
    work();
    last_ = clock_.elapsed();
  }

private:
  QTimer timer_;
  QElapsedTimer clock_;
  qint64 last_ = 0;
  qint64 longest_ = 0;
};

} // namespace t2i::test
