// The three live charts of a training run: training loss (raw and smoothed), validation P2 loss,
// and FID with KID. Fed by live events and by a finished run's history alike.
#pragma once

#include "t2i/runs.h"

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

  void clear();
  void addSteps(const std::vector<train::StepMetrics>& steps);
  void addEval(const train::EvalMetrics& eval);
  void setHistory(const train::History& history);
  /// Draws every chart's points now instead of at the throttle's next redraw: a run's end shows
  /// its last step and evaluation as soon as the page says it ended.
  void drawNow() const;

  /// What the FID chart says while it has no points: set from the run's options before the
  /// first evaluation (e.g. that no Inception weights are configured).
  void setFidHint(const QString& hint);

  /// The FID chart's note for an evaluation without FID: the core's `status` (why, and where the
  /// weights come from) and how to turn FID on in the studio.
  static QString fidUnavailableNote(const QString& status);

private:
  MetricPlot* loss_;
  MetricPlot* val_;
  MetricPlot* fid_;
  Smoother smoother_{kSmoothing};
  double lastStep_ = -1;
  bool fidSeen_ = false;
};

} // namespace t2i::ui
