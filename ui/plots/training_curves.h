// The three live charts of a training run: training loss (raw and smoothed), validation P2 loss,
// and FID with KID. Fed by live events and by a finished run's history alike.
#pragma once

#include "t2i/runs.h"

#include <QPointF>
#include <QString>
#include <QVector>
#include <QWidget>

#include <optional>
#include <vector>

namespace t2i::ui {

class MetricPlot;

/// Exponential moving average with bias correction (as TensorBoard smooths curves), so the
/// first points are not pulled towards zero.
class Smoother {
public:
  explicit Smoother(double weight) : weight_(weight) {}
  double add(double value);
  void reset();

private:
  double weight_;
  double average_ = 0;
  double correction_ = 1;
};

/// A run's curves as the charts draw them, for drawing another run over the one shown.
struct RunCurves {
  QVector<QPointF> smoothedLoss;  ///< the training loss smoothed as the live chart smooths it
  QVector<QPointF> valP2;
  QVector<QPointF> fid;
};

/// The curves of a run's history.
RunCurves runCurves(const train::History& history);

class TrainingCurves : public QWidget {
  Q_OBJECT
public:
  static constexpr double kSmoothing = 0.9;
  /// Series indices of the loss chart.
  enum LossSeries { RawLoss = 0, SmoothedLoss = 1 };
  /// Series indices of the FID chart.
  enum FidSeries { Fid = 0, Kid = 1 };

  explicit TrainingCurves(QWidget* parent = nullptr);

  MetricPlot* lossPlot() const { return loss_; }
  MetricPlot* valPlot() const { return val_; }
  MetricPlot* fidPlot() const { return fid_; }

  /// Removes every point, and the comparison.
  void clear();
  void addSteps(const std::vector<train::StepMetrics>& steps);
  void addEval(const train::EvalMetrics& eval);
  void setHistory(const train::History& history);
  /// Draws every chart's points now instead of at the throttle's next redraw: a run's end shows
  /// its last step and evaluation as soon as the page says it ended.
  void drawNow() const;

  /// Draws `other`'s curves (smoothed loss, validation P2, FID) over the shown run's, in a colour
  /// of their own, each chart's legend naming both runs; replaces an earlier comparison.
  void showComparison(const QString& shownRun, const QString& otherRun, const train::History& other);
  /// Removes the compared run's curves and the run names from the legends.
  void clearComparison();
  bool hasComparison() const { return comparison_.has_value(); }
  /// The compared run's series in the loss, validation and FID charts (valid while hasComparison()).
  static constexpr int kComparedLoss = 2;
  static constexpr int kComparedValP2 = 1;
  static constexpr int kComparedFid = 2;

  /// What the FID chart says while it has no points: set from the run's options before the
  /// first evaluation (e.g. that no Inception weights are configured).
  void setFidHint(const QString& hint);

  /// The FID chart's note for an evaluation without FID: the core's `status` (why, and where the
  /// weights come from) and how to turn FID on in the studio.
  static QString fidUnavailableNote(const QString& status);

private:
  /// Puts the compared run's points back (after the shown run's resumed steps were removed).
  void drawComparison() const;
  /// Prefixes each of the shown run's series names with `run`; an empty `run` restores them.
  void nameShownSeries(const QString& run);

  MetricPlot* loss_;
  MetricPlot* val_;
  MetricPlot* fid_;
  Smoother smoother_{kSmoothing};
  double lastStep_ = -1;
  bool fidSeen_ = false;
  std::optional<RunCurves> comparison_;
  QString shownPrefix_;  ///< "<run>: " before the shown run's series names while comparing
};

} // namespace t2i::ui
