// One live metric chart: a few series against the training step, a linear or logarithmic y
// axis, the nearest point's value under the mouse, PNG/CSV export, and a note that explains
// an empty chart (e.g. why FID is unavailable and how to enable it). Redraws are throttled so a
// fast stream of points costs at most a few repaints a second.
#pragma once

#include <QColor>
#include <QPointF>
#include <QVector>
#include <QWidget>

#include <utility>

class QCheckBox;
class QCustomPlot;
class QCPGraph;
class QCPItemTracer;
class QLabel;
class QMouseEvent;
class QTimer;

namespace t2i::ui {

class MetricPlot : public QWidget {
  Q_OBJECT
public:
  enum class Axis { Left, Right };
  enum class Style { Line, LineAndDots, Dots };

  MetricPlot(const QString& title, const QString& yLabel, QWidget* parent = nullptr);

  /// Adds a series and returns its index. Right-axis series get their own scale (e.g. KID next to FID).
  int addSeries(const QString& name, const QColor& color, Style style = Style::Line, Axis axis = Axis::Left);
  int seriesCount() const;
  QString seriesName(int series) const;
  /// Renames a series (its legend entry and hover text).
  void setSeriesName(int series, const QString& name);
  /// Removes a series and its points; the series after it move down one index.
  void removeSeries(int series);

  void addPoint(int series, double step, double value);
  void setPoints(int series, const QVector<QPointF>& points);
  QVector<QPointF> points(int series) const;
  /// Removes every point of every series (the series stay).
  void clearPoints();
  /// Removes the points at `step` and after from every series (a resumed run redoes them).
  void removeFrom(double step);

  void setLogScale(bool log);
  bool logScale() const;

  /// A sentence shown above the chart, or instead of it while it has no points (empty hides it).
  void setNote(const QString& text);
  QString note() const;

  /// The nearest point to a position in the chart's pixel coordinates, as "name at step N: value";
  /// empty when no point is within reach. The hover label shows the same text.
  QString valueAt(const QPointF& pixel) const;
  QString hoverText() const;
  /// Where a series' point at (step, value) is drawn, in the chart's pixel coordinates.
  QPointF pixelOf(int series, double step, double value) const;

  bool exportPng(const QString& path) const;
  /// One row per step, one column per series (empty where a series has no point at that step).
  bool exportCsv(const QString& path) const;

  /// The chart widget itself, for mouse events in tests.
  QWidget* chartWidget() const;

  /// Runs a pending redraw now, so geometry, exports and the screen reflect every point added.
  void flushRedraw() const;
  /// The steps the x axis spans as last drawn: points added since wait for the throttled redraw.
  std::pair<double, double> drawnSteps() const;

private:
  struct Nearest {
    QCPGraph* graph = nullptr;
    double step = 0;
    double value = 0;
  };
  Nearest nearest(const QPointF& pixel) const;
  void scheduleRedraw();
  bool hasPoints() const;
  void showChartOrNote();
  /// Rescales and repaints; const because it changes only the chart, not the data.
  void redraw() const;
  void onMouseMove(QMouseEvent* event);
  void exportPngInteractive();
  void exportCsvInteractive();

  QString title_;
  QCustomPlot* plot_;
  QLabel* note_;
  QCheckBox* logScale_;
  QCPItemTracer* tracer_;
  QLabel* hover_;
  QTimer* redrawTimer_;
  QVector<QCPGraph*> graphs_;
};

} // namespace t2i::ui
