// The Train page's loss by noise level (t2i/loss_by_noise.h): a heatmap of the loss over
// evaluations (x, labelled by training step) and log-SNR (y), on a logarithmic colour scale,
// optionally relative to step 0; the P2 weight curve 1/(k + SNR)^γ beside it on the same log-SNR
// axis; the numbers under the mouse; line plots of three chosen validation levels and of the
// validation − training divergence at the same levels. The grids come from the core's
// train::loss_grid(); this widget only draws them.
#pragma once

#include "jobs/coalescing_reload.h"

#include "t2i/loss_by_noise.h"

#include <QString>
#include <QWidget>

#include <vector>

class QCheckBox;
class QComboBox;
class QCustomPlot;
class QCPColorMap;
class QCPColorScale;
class QLabel;
class QMouseEvent;

namespace t2i::ui {

class MetricPlot;

class LossByNoiseView : public QWidget {
  Q_OBJECT
public:
  explicit LossByNoiseView(QWidget* parent = nullptr);

  /// Reads `folder`'s loss-by-noise events in the background and shows them (an empty folder clears).
  void setRunFolder(const QString& folder);
  /// Reads the run folder again (after an evaluation has added an event).
  void reload();
  void setEvents(std::vector<train::LossByNoise> events);
  const std::vector<train::LossByNoise>& events() const { return events_; }

  void setSource(train::LossGridSource source);
  void setRelative(bool relative);
  /// The grid the heatmap shows now.
  const train::LossGrid& grid() const { return grid_; }

  /// "step S · log-SNR λ: value" of heatmap cell (row = evaluation, column = level or bin),
  /// with the P2 weight there; empty outside the grid. The hover label shows the same.
  QString cellText(int row, int column) const;
  QString hoverText() const;
  /// The cell under a position in the heatmap's pixel coordinates, as (row, column); (-1, -1) outside.
  std::pair<int, int> cellAt(const QPointF& pixel) const;
  /// Where the centre of a cell is drawn, in the heatmap's pixel coordinates.
  QPointF pixelOf(int row, int column) const;

  /// The charts as widgets (tests send them mouse events and grab them).
  QWidget* heatmapWidget() const;
  QWidget* weightWidget() const;
  MetricPlot* levelsPlot() const { return levels_; }
  MetricPlot* divergencePlot() const { return divergence_; }

Q_SIGNALS:
  /// The events shown changed (read from the folder, or set).
  void eventsShown();

private:
  void rebuild();
  void drawHeatmap();
  void drawWeightCurve();
  void drawLines();
  void onMouseMove(QMouseEvent* event);

  CoalescingReload<std::vector<train::LossByNoise>> reader_;
  QString folder_;
  std::vector<train::LossByNoise> events_;
  train::LossGrid grid_;
  train::LossGridSource source_ = train::LossGridSource::ValidationP2;
  bool relative_ = false;

  QComboBox* sourceBox_;
  QCheckBox* relativeBox_;
  QCustomPlot* heatmap_;
  QCPColorMap* map_;
  QCPColorScale* scale_;
  QCustomPlot* weight_;
  QLabel* hover_;
  QLabel* note_;
  MetricPlot* levels_;
  MetricPlot* divergence_;
};

} // namespace t2i::ui
