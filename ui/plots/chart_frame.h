// The frame every studio chart shares: a bold heading above the axes with the legend beside it,
// outside the data, so it never covers a curve's newest points or its ends (inside the axes it
// did, on the short charts a 720-pixel screen gives).
#pragma once

#include <QString>

class QCustomPlot;
class QFont;

namespace t2i::ui {

/// Adds `title` and moves the legend (one row of entries) out of `plot`'s axes.
void frameChart(QCustomPlot* plot, const QString& title, const QFont& font);

} // namespace t2i::ui
