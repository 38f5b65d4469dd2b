#include "plots/metric_plot.h"

#include "plots/chart_frame.h"
#include "plots/log_ticker.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QFile>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QMap>
#include <QMessageBox>
#include <QTextStream>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace t2i::ui {
namespace {
constexpr int kRedrawMilliseconds = 150;
constexpr double kHoverReachPixels = 24;
// Two charts above each other, with their tool rows, fit a 720-pixel-high screen.
constexpr int kChartMinimumHeight = 120;

QString formatValue(double value) { return QString::number(value, 'g', 5); }
} // namespace

MetricPlot::MetricPlot(const QString& title, const QString& yLabel, QWidget* parent)
    : QWidget(parent), title_(title), plot_(new QCustomPlot(this)), note_(new QLabel(this)),
      logScale_(new QCheckBox(tr("Log scale"), this)), hover_(new QLabel(this)), redrawTimer_(new QTimer(this)) {
  plot_->setObjectName(QStringLiteral("chart"));
  plot_->setMinimumHeight(kChartMinimumHeight);
  plot_->setAccessibleName(title);
  plot_->setMouseTracking(true);  // hover readout without a button pressed
  plot_->xAxis->setLabel(tr("step"));
  plot_->yAxis->setLabel(yLabel);
  frameChart(plot_, title, font());
  plot_->legend->setVisible(false);
  plot_->setNoAntialiasingOnDrag(true);
  plot_->yAxis2->setVisible(false);

  tracer_ = new QCPItemTracer(plot_);
  tracer_->setStyle(QCPItemTracer::tsCircle);
  tracer_->setSize(8);
  tracer_->setPen(QPen(Qt::black));
  tracer_->setBrush(Qt::white);
  tracer_->setVisible(false);
  tracer_->setInterpolating(false);

  note_->setObjectName(QStringLiteral("plotNote"));
  note_->setWordWrap(true);
  note_->setTextFormat(Qt::PlainText);
  note_->setFrameShape(QFrame::StyledPanel);
  note_->setContentsMargins(6, 4, 6, 4);
  note_->setVisible(false);

  logScale_->setObjectName(QStringLiteral("logScale"));
  logScale_->setToolTip(tr("Show the y axis on a logarithmic scale (losses often fall by orders of magnitude)."));
  hover_->setObjectName(QStringLiteral("hoverValue"));
  hover_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  // Tool buttons: as narrow as their text, so two charts fit side by side on a 1280-pixel screen.
  auto* png = new QToolButton(this);
  png->setText(tr("PNG…"));
  png->setToolTip(tr("Save this chart as a PNG image."));
  png->setAccessibleName(tr("Export %1 as PNG").arg(title));
  auto* csv = new QToolButton(this);
  csv->setText(tr("CSV…"));
  csv->setToolTip(tr("Save this chart's points as CSV: one row per step, one column per series."));
  csv->setAccessibleName(tr("Export %1 as CSV").arg(title));

  auto* tools = new QHBoxLayout;
  tools->addWidget(hover_, 1);
  tools->addWidget(logScale_);
  tools->addWidget(png);
  tools->addWidget(csv);

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(note_);
  layout->addWidget(plot_, 1);
  layout->addLayout(tools);

  redrawTimer_->setSingleShot(true);
  redrawTimer_->setInterval(kRedrawMilliseconds);
  connect(redrawTimer_, &QTimer::timeout, this, &MetricPlot::redraw);
  connect(logScale_, &QCheckBox::toggled, this, &MetricPlot::setLogScale);
  connect(plot_, &QCustomPlot::mouseMove, this, &MetricPlot::onMouseMove);
  connect(png, &QToolButton::clicked, this, &MetricPlot::exportPngInteractive);
  connect(csv, &QToolButton::clicked, this, &MetricPlot::exportCsvInteractive);
}

int MetricPlot::addSeries(const QString& name, const QColor& color, Style style, Axis axis) {
  QCPAxis* valueAxis = axis == Axis::Right ? plot_->yAxis2 : plot_->yAxis;
  if (axis == Axis::Right) {
    plot_->yAxis2->setVisible(true);
    plot_->yAxis2->setLabel(name);
  }
  QCPGraph* graph = plot_->addGraph(plot_->xAxis, valueAxis);
  graph->setName(name);
  QPen pen(color);
  pen.setWidthF(style == Style::Line ? 1.2 : 1.6);
  graph->setPen(pen);
  if (style == Style::Dots) graph->setLineStyle(QCPGraph::lsNone);
  if (style != Style::Line) graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, color, color, 6));
  graphs_.push_back(graph);
  plot_->legend->setVisible(graphs_.size() > 1);
  return static_cast<int>(graphs_.size()) - 1;
}

int MetricPlot::seriesCount() const { return static_cast<int>(graphs_.size()); }

QString MetricPlot::seriesName(int series) const { return graphs_.at(series)->name(); }

void MetricPlot::setSeriesName(int series, const QString& name) {
  graphs_.at(series)->setName(name);
  scheduleRedraw();
}

void MetricPlot::removeSeries(int series) {
  plot_->removeGraph(graphs_.at(series));
  graphs_.remove(series);
  plot_->legend->setVisible(graphs_.size() > 1);
  tracer_->setVisible(false);
  hover_->clear();
  scheduleRedraw();
}

void MetricPlot::addPoint(int series, double step, double value) {
  if (!std::isfinite(value)) return;
  graphs_.at(series)->addData(step, value);
  scheduleRedraw();
}

void MetricPlot::setPoints(int series, const QVector<QPointF>& points) {
  QVector<double> keys;
  QVector<double> values;
  for (const QPointF& p : points) {
    if (!std::isfinite(p.y())) continue;
    keys << p.x();
    values << p.y();
  }
  graphs_.at(series)->setData(keys, values);
  scheduleRedraw();
}

QVector<QPointF> MetricPlot::points(int series) const {
  QVector<QPointF> result;
  const auto data = graphs_.at(series)->data();
  for (auto it = data->constBegin(); it != data->constEnd(); ++it) result << QPointF(it->key, it->value);
  return result;
}

void MetricPlot::clearPoints() {
  for (QCPGraph* graph : graphs_) graph->data()->clear();
  tracer_->setVisible(false);
  hover_->clear();
  scheduleRedraw();
}

void MetricPlot::removeFrom(double step) {
  for (QCPGraph* graph : graphs_) graph->data()->removeAfter(step - 0.5);
  scheduleRedraw();
}

void MetricPlot::setLogScale(bool log) {
  if (logScale_->isChecked() != log) {
    logScale_->setChecked(log);  // comes back here through toggled()
    return;
  }
  for (QCPAxis* axis : {plot_->yAxis, plot_->yAxis2}) {
    axis->setScaleType(log ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    if (log)
      axis->setTicker(makeLogTicker());
    else
      axis->setTicker(QSharedPointer<QCPAxisTicker>::create());
  }
  redraw();
}

bool MetricPlot::logScale() const { return logScale_->isChecked(); }

void MetricPlot::setNote(const QString& text) {
  note_->setText(text);
  note_->setVisible(!text.isEmpty());
  showChartOrNote();
}

bool MetricPlot::hasPoints() const {
  return std::any_of(graphs_.begin(), graphs_.end(), [](const QCPGraph* graph) { return !graph->data()->isEmpty(); });
}

void MetricPlot::showChartOrNote() {
  // An empty chart says nothing a note does not, and the note needs its height to be read.
  plot_->setVisible(note_->text().isEmpty() || hasPoints());
}

QString MetricPlot::note() const { return note_->text(); }

MetricPlot::Nearest MetricPlot::nearest(const QPointF& pixel) const {
  Nearest best;
  double bestDistance = kHoverReachPixels;
  for (QCPGraph* graph : graphs_) {
    if (!graph->visible()) continue;
    const auto data = graph->data();
    for (auto it = data->constBegin(); it != data->constEnd(); ++it) {
      const double distance = std::hypot(graph->keyAxis()->coordToPixel(it->key) - pixel.x(),
                                         graph->valueAxis()->coordToPixel(it->value) - pixel.y());
      if (distance < bestDistance) {
        bestDistance = distance;
        best = {graph, it->key, it->value};
      }
    }
  }
  return best;
}

QString MetricPlot::valueAt(const QPointF& pixel) const {
  const Nearest point = nearest(pixel);
  if (point.graph == nullptr) return {};
  return tr("%1 at step %2: %3").arg(point.graph->name()).arg(static_cast<qint64>(point.step)).arg(formatValue(point.value));
}

QString MetricPlot::hoverText() const { return hover_->text(); }

QPointF MetricPlot::pixelOf(int series, double step, double value) const {
  flushRedraw();
  const QCPGraph* graph = graphs_.at(series);
  return {graph->keyAxis()->coordToPixel(step), graph->valueAxis()->coordToPixel(value)};
}

void MetricPlot::onMouseMove(QMouseEvent* event) {
  const Nearest point = nearest(event->position());
  hover_->setText(valueAt(event->position()));
  tracer_->setVisible(point.graph != nullptr);
  if (point.graph != nullptr) {
    tracer_->position->setAxes(point.graph->keyAxis(), point.graph->valueAxis());
    tracer_->position->setCoords(point.step, point.value);
  }
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void MetricPlot::scheduleRedraw() {
  showChartOrNote();
  if (!redrawTimer_->isActive()) redrawTimer_->start();
}

void MetricPlot::flushRedraw() const {
  if (!redrawTimer_->isActive()) return;
  redrawTimer_->stop();
  redraw();
}

std::pair<double, double> MetricPlot::drawnSteps() const {
  return {plot_->xAxis->range().lower, plot_->xAxis->range().upper};
}

void MetricPlot::redraw() const {
  bool any[2] = {false, false};
  for (QCPGraph* graph : graphs_) {
    if (graph->data()->isEmpty()) continue;
    const bool right = graph->valueAxis() == plot_->yAxis2;
    graph->rescaleAxes(any[right]);
    any[right] = true;
  }
  if (!any[0] && !any[1]) {
    plot_->xAxis->setRange(0, 1);
  } else {
    // Some room around the data, so the first and last points are not hidden by the frame.
    for (QCPAxis* axis : {plot_->yAxis, plot_->yAxis2}) {
      const QCPRange range = axis->range();
      if (axis->scaleType() == QCPAxis::stLogarithmic)
        axis->setRange(range.lower / 1.2, range.upper * 1.2);
      else if (range.size() > 0)
        axis->setRange(range.lower - 0.05 * range.size(), range.upper + 0.05 * range.size());
      else
        axis->setRange(range.lower - 1, range.upper + 1);
    }
    if (plot_->xAxis->range().size() <= 0) plot_->xAxis->setRange(plot_->xAxis->range().lower - 1, plot_->xAxis->range().upper + 1);
  }
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

bool MetricPlot::exportPng(const QString& path) const {
  flushRedraw();
  return plot_->savePng(path, plot_->width(), plot_->height(), 2.0);
}

bool MetricPlot::exportCsv(const QString& path) const {
  QFile file(path);
  if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Text)) return false;
  QMap<double, QVector<QString>> rows;
  for (int series = 0; series < graphs_.size(); ++series) {
    const auto data = graphs_[series]->data();
    for (auto it = data->constBegin(); it != data->constEnd(); ++it) {
      QVector<QString>& row = rows[it->key];
      row.resize(graphs_.size());
      row[series] = QString::number(it->value, 'g', 10);
    }
  }
  QTextStream out(&file);
  out << "step";
  for (QCPGraph* graph : graphs_) out << ',' << '"' << QString(graph->name()).replace(QLatin1Char('"'), QStringLiteral("\"\"")) << '"';
  out << '\n';
  for (auto it = rows.constBegin(); it != rows.constEnd(); ++it) {
    out << QString::number(it.key(), 'g', 12);
    for (const QString& cell : it.value()) out << ',' << cell;
    out << '\n';
  }
  out.flush();
  return file.error() == QFileDevice::NoError;
}

QWidget* MetricPlot::chartWidget() const { return plot_; }

void MetricPlot::exportPngInteractive() {
  const QString path = QFileDialog::getSaveFileName(this, tr("Export %1 as PNG").arg(title_), {}, tr("PNG images (*.png)"));
  if (!path.isEmpty() && !exportPng(path)) QMessageBox::warning(this, title_, tr("Could not write %1.").arg(path));
}

void MetricPlot::exportCsvInteractive() {
  const QString path = QFileDialog::getSaveFileName(this, tr("Export %1 as CSV").arg(title_), {}, tr("CSV files (*.csv)"));
  if (!path.isEmpty() && !exportCsv(path)) QMessageBox::warning(this, title_, tr("Could not write %1.").arg(path));
}

} // namespace t2i::ui
