#include "curve_plot.h"

#include "plots/chart_frame.h"

#include <qcustomplot.h>

#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace t2i::ui {
namespace {
// Three charts above each other fit a 720-pixel-high screen.
constexpr int kMinimumHeight = 120;
} // namespace

CurvePlot::CurvePlot(const QString& title, const QString& yLabel, QWidget* parent)
    : QWidget(parent), plot_(new QCustomPlot(this)) {
  plot_->setObjectName(QStringLiteral("chart"));
  plot_->setMinimumHeight(kMinimumHeight);
  plot_->setAccessibleName(title);
  plot_->xAxis->setLabel(tr("t"));
  plot_->xAxis->setRange(0, 1);
  plot_->yAxis->setLabel(yLabel);
  frameChart(plot_, title, font());
  plot_->legend->setVisible(true);

  marker_ = new QCPItemStraightLine(plot_);
  marker_->setPen(QPen(QColor(120, 120, 120), 1, Qt::DashLine));
  marker_->point1->setCoords(0, 0);
  marker_->point2->setCoords(0, 1);

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(plot_);
}

int CurvePlot::addCurve(const QString& name, const QColor& color) {
  QCPGraph* graph = plot_->addGraph();
  graph->setName(name);
  graph->setPen(QPen(color, 2));
  graphs_ << graph;
  return static_cast<int>(graphs_.size()) - 1;
}

void CurvePlot::setCurve(int curve, const QVector<double>& t, const QVector<double>& values) {
  if (curve < 0 || curve >= graphs_.size()) return;
  graphs_[curve]->setData(t, values, true);
}

QVector<QPointF> CurvePlot::points(int curve) const {
  QVector<QPointF> out;
  if (curve < 0 || curve >= graphs_.size()) return out;
  for (auto it = graphs_[curve]->data()->constBegin(); it != graphs_[curve]->data()->constEnd(); ++it)
    out << QPointF(it->key, it->value);
  return out;
}

void CurvePlot::setMarker(double t) {
  marker_->point1->setCoords(t, 0);
  marker_->point2->setCoords(t, 1);
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void CurvePlot::setXTickCount(int count) { plot_->xAxis->ticker()->setTickCount(count); }

std::pair<double, double> CurvePlot::paddedRange(double lower, double upper) {
  const double magnitude = std::max({std::abs(lower), std::abs(upper), 1e-12});
  const double pad = upper - lower > 1e-6 * magnitude ? (upper - lower) * 0.05 : magnitude * 0.1;
  return {lower - pad, upper + pad};
}

void CurvePlot::rescale() {
  bool first = true;
  QCPRange range;
  for (QCPGraph* graph : graphs_) {
    bool found = false;
    const QCPRange r = graph->getValueRange(found);
    if (!found) continue;
    range = first ? r : QCPRange(std::min(range.lower, r.lower), std::max(range.upper, r.upper));
    first = false;
  }
  if (!first) {
    const auto [lower, upper] = paddedRange(range.lower, range.upper);
    plot_->yAxis->setRange(lower, upper);
  }
  plot_->xAxis->setRange(0, 1);
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

} // namespace t2i::ui
