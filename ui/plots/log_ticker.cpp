#include "plots/log_ticker.h"

#include <qcustomplot.h>

#include <cmath>
#include <vector>

namespace t2i::ui {
namespace {

/// Every value m·10^k in [lower, upper] for the mantissas m, every `decadeStep`-th decade.
QVector<double> ticksFor(double lower, double upper, const std::vector<double>& mantissas, int decadeStep) {
  QVector<double> ticks;
  const int first = static_cast<int>(std::floor(std::log10(lower)));
  const int last = static_cast<int>(std::ceil(std::log10(upper)));
  const int start = first - ((first % decadeStep) + decadeStep) % decadeStep;
  for (int decade = start; decade <= last; decade += decadeStep) {
    for (double m : mantissas) {
      // m / 10^k rounds as the literal does (3 / 10 == 0.3, while 3 * 0.1 is not).
      const double value = decade < 0 ? m / std::pow(10.0, -decade) : m * std::pow(10.0, decade);
      // A relative margin keeps a tick that sits on an end of the range despite rounding.
      if (value >= lower * (1 - 1e-9) && value <= upper * (1 + 1e-9)) ticks.push_back(value);
    }
  }
  return ticks;
}

} // namespace

QVector<double> logTicks(double lower, double upper, int maxTicks) {
  if (!(lower > 0) || !(upper > lower)) return {};
  const std::vector<std::vector<double>> perDecade{{1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 5}, {1, 3}, {1}};
  for (const std::vector<double>& mantissas : perDecade) {
    const QVector<double> ticks = ticksFor(lower, upper, mantissas, 1);
    if (ticks.size() <= maxTicks) return ticks.size() >= 2 ? ticks : QVector<double>{};
  }
  for (int decadeStep = 2;; ++decadeStep) {
    const QVector<double> ticks = ticksFor(lower, upper, {1}, decadeStep);
    if (ticks.size() <= maxTicks) return ticks;
  }
}

namespace {

class LogTicker : public QCPAxisTicker {
protected:
  QVector<double> createTickVector(double tickStep, const QCPRange& range) override {
    const QVector<double> ticks = logTicks(range.lower, range.upper, kMaxTicks);
    return ticks.isEmpty() ? QCPAxisTicker::createTickVector(tickStep, range) : ticks;
  }
  int getSubTickCount(double) override { return 0; }

private:
  static constexpr int kMaxTicks = 6;
};

} // namespace

QSharedPointer<QCPAxisTicker> makeLogTicker() { return QSharedPointer<LogTicker>::create(); }

} // namespace t2i::ui
