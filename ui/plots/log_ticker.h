// Ticks for a logarithmic axis that label every range a loss curve spans: QCustomPlot's own log
// ticker puts ticks only at powers of ten, so a curve between 0.03 and 0.5 showed one label.
#pragma once

#include <QSharedPointer>
#include <QVector>

class QCPAxisTicker;

namespace t2i::ui {

/// Tick values in [lower, upper] (both > 0): the densest of 1…9, 1-2-5, 1-3 or 1 per decade
/// (or powers of ten every few decades) that gives at most `maxTicks`. Fewer than two such ticks
/// (a range inside one step) gives none: the caller falls back to linear ticks.
QVector<double> logTicks(double lower, double upper, int maxTicks);

/// A QCustomPlot ticker placing logTicks(…, 6) on a logarithmic axis.
QSharedPointer<QCPAxisTicker> makeLogTicker();

} // namespace t2i::ui
