// A small chart of curves against the diffusion time t ∈ [0, 1], with a vertical line marking
// the current t (the Schedules page's log-SNR, ᾱ and P2-weight plots).
#pragma once

#include <QColor>
#include <QPointF>
#include <QVector>
#include <QWidget>

#include <utility>

class QCustomPlot;
class QCPGraph;
class QCPItemStraightLine;

namespace t2i::ui {

class CurvePlot : public QWidget {
  Q_OBJECT
public:
  CurvePlot(const QString& title, const QString& yLabel, QWidget* parent = nullptr);

  /// Adds a curve; returns its index.
  int addCurve(const QString& name, const QColor& color);
  void setCurve(int curve, const QVector<double>& t, const QVector<double>& values);
  /// The points the chart shows for a curve.
  QVector<QPointF> points(int curve) const;
  /// Moves the marker line to `t`.
  void setMarker(double t);
  /// About how many ticks the t axis shows (fewer for a narrow chart, so labels do not collide).
  void setXTickCount(int count);
  /// Fits the y axis to the curves (called after setCurve).
  void rescale();

  /// The value axis' range for curves spanning [lower, upper]: 5% of the span added on each
  /// side, or ±10% of the value when the curves are flat (P2's weight at γ = 0 is 1 everywhere,
  /// and a span of nothing labelled every tick "1").
  static std::pair<double, double> paddedRange(double lower, double upper);

private:
  QCustomPlot* plot_;
  QCPItemStraightLine* marker_;
  QVector<QCPGraph*> graphs_;
};

} // namespace t2i::ui
