#include "plots/loss_by_noise_view.h"

#include "plots/chart_frame.h"
#include "plots/metric_plot.h"

#include "t2i/runs.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QMouseEvent>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace t2i::ui {
namespace {

constexpr int kHeatmapMinimumHeight = 170;
constexpr int kWeightPlotWidth = 150;
constexpr int kMaxStepLabels = 8;
constexpr int kWeightCurvePoints = 100;

QString number(double value) { return std::isfinite(value) ? QString::number(value, 'g', 4) : QStringLiteral("–"); }

/// The validation levels the line plots follow: the noisiest, a middle one and the cleanest.
std::vector<int> chosenLevels(std::size_t levels) {
  if (levels == 0) return {};
  const int last = static_cast<int>(levels) - 1;
  return last < 2 ? std::vector<int>{0, last} : std::vector<int>{0, last / 2, last};
}

QString sourceName(train::LossGridSource source) {
  switch (source) {
    case train::LossGridSource::ValidationP2: return LossByNoiseView::tr("Validation P2 by log-SNR level");
    case train::LossGridSource::ValidationMse: return LossByNoiseView::tr("Validation MSE (unweighted) by log-SNR level");
    case train::LossGridSource::TrainingP2: return LossByNoiseView::tr("Training P2 by log-SNR bin");
    case train::LossGridSource::TrainingMse: return LossByNoiseView::tr("Training MSE (unweighted) by log-SNR bin");
    case train::LossGridSource::Divergence: return LossByNoiseView::tr("Validation − training P2 by level");
  }
  return {};
}

} // namespace

LossByNoiseView::LossByNoiseView(QWidget* parent)
    : QWidget(parent),
      reader_(
          QStringLiteral("loss by noise"), [this](std::vector<train::LossByNoise> events) { setEvents(std::move(events)); },
          [this](const QString& message) {
            note_->setText(tr("Cannot read the loss by noise level: %1").arg(message));
            note_->setVisible(true);
          }),
      sourceBox_(new QComboBox(this)),
      relativeBox_(new QCheckBox(tr("Relative to step 0"), this)), heatmap_(new QCustomPlot(this)),
      weight_(new QCustomPlot(this)), hover_(new QLabel(this)), note_(new QLabel(this)),
      levels_(new MetricPlot(tr("Val P2 by level"), tr("val P2"), this)),
      divergence_(new MetricPlot(tr("Val − train P2"), tr("difference"), this)) {
  setObjectName(QStringLiteral("lossByNoise"));
  sourceBox_->setObjectName(QStringLiteral("lossByNoiseSource"));
  relativeBox_->setObjectName(QStringLiteral("lossByNoiseRelative"));
  heatmap_->setObjectName(QStringLiteral("lossByNoiseHeatmap"));
  weight_->setObjectName(QStringLiteral("p2WeightCurve"));
  hover_->setObjectName(QStringLiteral("lossByNoiseHover"));
  levels_->setObjectName(QStringLiteral("lossByNoiseLevels"));
  divergence_->setObjectName(QStringLiteral("lossByNoiseDivergence"));
  for (const auto source : {train::LossGridSource::ValidationP2, train::LossGridSource::ValidationMse,
                            train::LossGridSource::TrainingP2, train::LossGridSource::TrainingMse})
    sourceBox_->addItem(sourceName(source), static_cast<int>(source));
  sourceBox_->setToolTip(tr("Validation: the EMA model on a fixed validation subset with fixed noise at %1 fixed "
                            "log-SNR levels, at step 0 and every evaluation. Training: the training batches' loss "
                            "in %2 log-SNR bins, averaged over the steps since the previous evaluation.")
                             .arg(train::kValidationNoiseLevels)
                             .arg(train::kTrainingLossBins));
  relativeBox_->setToolTip(tr("Each level's loss divided by its first value (step 0's for the validation, the first "
                              "interval's for training), so 1 means \"as at the start\"."));
  connect(sourceBox_, qOverload<int>(&QComboBox::currentIndexChanged), this,
          [this] { setSource(static_cast<train::LossGridSource>(sourceBox_->currentData().toInt())); });
  connect(relativeBox_, &QCheckBox::toggled, this, &LossByNoiseView::setRelative);

  heatmap_->setMinimumHeight(kHeatmapMinimumHeight);
  heatmap_->setMouseTracking(true);
  heatmap_->xAxis->setLabel(tr("evaluation (labelled by training step)"));
  heatmap_->yAxis->setLabel(tr("log-SNR"));
  frameChart(heatmap_, sourceName(source_), font());
  heatmap_->legend->setVisible(false);
  map_ = new QCPColorMap(heatmap_->xAxis, heatmap_->yAxis);
  scale_ = new QCPColorScale(heatmap_);
  heatmap_->plotLayout()->addElement(1, 1, scale_);
  scale_->setType(QCPAxis::atRight);
  scale_->setDataScaleType(QCPAxis::stLogarithmic);
  scale_->axis()->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
  map_->setColorScale(scale_);
  // Jet rather than a gradient ending in white, which vanished against the background.
  QCPColorGradient gradient(QCPColorGradient::gpJet);
  gradient.setNanHandling(QCPColorGradient::nhTransparent);  // a bin no training sample fell in: the grey background
  map_->setGradient(gradient);
  heatmap_->axisRect()->setBackground(QColor(225, 225, 225));
  map_->setInterpolate(false);
  connect(heatmap_, &QCustomPlot::mouseMove, this, &LossByNoiseView::onMouseMove);

  weight_->setFixedWidth(kWeightPlotWidth);
  frameChart(weight_, tr("P2 weight"), font());
  weight_->legend->setVisible(false);
  weight_->xAxis->setScaleType(QCPAxis::stLogarithmic);
  weight_->xAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
  weight_->xAxis->setLabel(tr("1/(k+SNR)^γ"));
  weight_->addGraph(weight_->yAxis, weight_->xAxis);  // keys along the vertical log-SNR axis
  weight_->graph(0)->setPen(QPen(QColor(200, 90, 20), 2));
  weight_->setToolTip(tr("The P2 weight each log-SNR gets in the training loss (Choi et al. 2022; paper §5.5)."));
  connect(heatmap_->yAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, [this](const QCPRange& range) {
    weight_->yAxis->setRange(range);
    weight_->replot(QCustomPlot::rpQueuedReplot);
  });

  hover_->setTextFormat(Qt::PlainText);
  note_->setObjectName(QStringLiteral("lossByNoiseNote"));
  note_->setWordWrap(true);
  note_->setTextFormat(Qt::PlainText);
  levels_->setLogScale(true);

  auto* controls = new QHBoxLayout;
  controls->addWidget(sourceBox_);
  controls->addWidget(relativeBox_);
  controls->addStretch(1);
  controls->addWidget(hover_);
  auto* maps = new QHBoxLayout;
  maps->addWidget(heatmap_, 1);
  maps->addWidget(weight_);
  auto* lines = new QHBoxLayout;
  lines->addWidget(levels_);
  lines->addWidget(divergence_);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(controls);
  layout->addWidget(note_);
  layout->addLayout(maps, 3);
  layout->addLayout(lines, 2);

  rebuild();
}

void LossByNoiseView::setRunFolder(const QString& folder) {
  folder_ = folder;
  setEvents({});
  reload();
}

void LossByNoiseView::reload() {
  if (folder_.isEmpty()) return;
  // A run just started has no metrics yet: nothing to show rather than an error.
  reader_.request([path = folder_.toStdString()] {
    return train::is_run_folder(path) ? train::read_loss_by_noise(path) : std::vector<train::LossByNoise>{};
  });
}

void LossByNoiseView::setEvents(std::vector<train::LossByNoise> events) {
  events_ = std::move(events);
  rebuild();
  Q_EMIT eventsShown();
}

void LossByNoiseView::setSource(train::LossGridSource source) {
  source_ = source;
  const int index = sourceBox_->findData(static_cast<int>(source));
  if (index >= 0 && index != sourceBox_->currentIndex()) sourceBox_->setCurrentIndex(index);  // comes back here
  rebuild();
}

void LossByNoiseView::setRelative(bool relative) {
  relative_ = relative;
  if (relativeBox_->isChecked() != relative) relativeBox_->setChecked(relative);
  rebuild();
}

void LossByNoiseView::rebuild() {
  grid_ = train::loss_grid(events_, source_, relative_);
  note_->setText(events_.empty() ? tr("No loss by noise level yet: it is measured at step 0 and at every evaluation "
                                      "(runs trained before this measurement have none).")
                                 : QString());
  note_->setVisible(events_.empty());
  drawHeatmap();
  drawWeightCurve();
  drawLines();
}

void LossByNoiseView::drawHeatmap() {
  // frameChart() put the heading first in the chart's top row.
  auto* top = qobject_cast<QCPLayoutGrid*>(heatmap_->plotLayout()->element(0, 0));
  if (auto* title = top ? qobject_cast<QCPTextElement*>(top->element(0, 0)) : nullptr)
    title->setText(sourceName(source_) + (relative_ ? tr(" (relative to step 0)") : QString()));
  const int rows = static_cast<int>(grid_.steps.size());
  const int columns = static_cast<int>(grid_.log_snr.size());
  map_->data()->clear();
  auto ticker = QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText);
  if (rows > 0 && columns > 0) {
    map_->data()->setSize(rows, columns);
    map_->data()->setRange(QCPRange(0, std::max(rows - 1, 1)), QCPRange(grid_.log_snr.front(), grid_.log_snr.back()));
    double low = INFINITY, high = 0;
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < columns; ++c) {
        const double v = grid_.values[static_cast<std::size_t>(r)][static_cast<std::size_t>(c)];
        const bool shown = std::isfinite(v) && v > 0;  // the colour scale is logarithmic
        map_->data()->setCell(r, c, shown ? v : NAN);
        if (shown) {
          low = std::min(low, v);
          high = std::max(high, v);
        }
      }
    if (high > 0) map_->setDataRange(QCPRange(low, high > low ? high : low * 1.01));
    const int every = std::max(1, (rows + kMaxStepLabels - 1) / kMaxStepLabels);
    for (int r = 0; r < rows; r += every) ticker->addTick(r, QString::number(grid_.steps[static_cast<std::size_t>(r)]));
    heatmap_->xAxis->setRange(-0.5, std::max(rows - 1, 1) + 0.5);
    const double half = (grid_.log_snr.back() - grid_.log_snr.front()) / std::max(columns - 1, 1) / 2;
    heatmap_->yAxis->setRange(grid_.log_snr.front() - half, grid_.log_snr.back() + half);
  }
  heatmap_->xAxis->setTicker(ticker);
  heatmap_->replot();
}

void LossByNoiseView::drawWeightCurve() {
  QVector<double> lambda, weight;
  if (!events_.empty()) {
    const QCPRange range = heatmap_->yAxis->range();
    const train::LossByNoise& e = events_.back();
    for (int i = 0; i < kWeightCurvePoints; ++i) {
      lambda.push_back(range.lower + range.size() * i / (kWeightCurvePoints - 1));
      weight.push_back(train::p2_weight_at(lambda.back(), e.p2_k, e.p2_gamma));
    }
    weight_->graph(0)->setData(lambda, weight, true);
    weight_->xAxis->setRange(*std::min_element(weight.begin(), weight.end()) / 1.5, 1.5);
  } else {
    weight_->graph(0)->data()->clear();
  }
  weight_->yAxis->setRange(heatmap_->yAxis->range());
  weight_->replot();
}

void LossByNoiseView::drawLines() {
  levels_->clearPoints();
  divergence_->clearPoints();
  const std::vector<int> chosen = events_.empty() ? std::vector<int>{} : chosenLevels(events_.back().level_log_snr.size());
  static const QColor colours[] = {QColor(40, 60, 170), QColor(40, 140, 60), QColor(200, 90, 20)};
  // Series stay once added, so they are named by position, which every run's levels share.
  const QString names[] = {tr("noisiest"), tr("middle"), tr("cleanest")};
  QStringList where;
  for (const int level : chosen) where << number(events_.back().level_log_snr[static_cast<std::size_t>(level)]);
  levels_->setToolTip(tr("Validation P2 at the levels of log-SNR %1, over training steps.").arg(where.join(QStringLiteral(", "))));
  divergence_->setToolTip(tr("Validation P2 minus the training P2 of the log-SNR bin holding each level (log-SNR %1): "
                             "above 0, the model does better on the images it trains on.")
                              .arg(where.join(QStringLiteral(", "))));
  for (std::size_t i = 0; i < chosen.size(); ++i) {
    const auto level = static_cast<std::size_t>(chosen[i]);
    if (levels_->seriesCount() <= static_cast<int>(i)) {
      levels_->addSeries(names[i], colours[i], MetricPlot::Style::LineAndDots);
      divergence_->addSeries(names[i], colours[i], MetricPlot::Style::LineAndDots);
    }
    for (const train::LossByNoise& e : events_) {
      const auto step = static_cast<double>(e.step);
      if (level < e.val_p2.size() && std::isfinite(e.val_p2[level])) levels_->addPoint(static_cast<int>(i), step, e.val_p2[level]);
      const std::vector<double> difference = train::divergence(e);
      if (level < difference.size() && std::isfinite(difference[level]))
        divergence_->addPoint(static_cast<int>(i), step, difference[level]);
    }
  }
}

QString LossByNoiseView::cellText(int row, int column) const {
  if (row < 0 || column < 0 || row >= static_cast<int>(grid_.steps.size()) || column >= static_cast<int>(grid_.log_snr.size()))
    return {};
  const double lambda = grid_.log_snr[static_cast<std::size_t>(column)];
  const double value = grid_.values[static_cast<std::size_t>(row)][static_cast<std::size_t>(column)];
  const train::LossByNoise& e = events_.back();
  return tr("step %1 · log-SNR %2: %3%4 · P2 weight %5")
      .arg(grid_.steps[static_cast<std::size_t>(row)])
      .arg(number(lambda), number(value), relative_ ? tr(" × the first") : QString(),
           number(train::p2_weight_at(lambda, e.p2_k, e.p2_gamma)));
}

QString LossByNoiseView::hoverText() const { return hover_->text(); }
QWidget* LossByNoiseView::heatmapWidget() const { return heatmap_; }
QWidget* LossByNoiseView::weightWidget() const { return weight_; }

std::pair<int, int> LossByNoiseView::cellAt(const QPointF& pixel) const {
  if (grid_.steps.empty() || grid_.log_snr.empty() || !heatmap_->axisRect()->rect().contains(pixel.toPoint())) return {-1, -1};
  int row = -1, column = -1;
  map_->data()->coordToCell(heatmap_->xAxis->pixelToCoord(pixel.x()), heatmap_->yAxis->pixelToCoord(pixel.y()), &row, &column);
  if (row < 0 || column < 0 || row >= static_cast<int>(grid_.steps.size()) || column >= static_cast<int>(grid_.log_snr.size()))
    return {-1, -1};
  return {row, column};
}

QPointF LossByNoiseView::pixelOf(int row, int column) const {
  double key = 0, value = 0;
  map_->data()->cellToCoord(row, column, &key, &value);
  return {heatmap_->xAxis->coordToPixel(key), heatmap_->yAxis->coordToPixel(value)};
}

void LossByNoiseView::onMouseMove(QMouseEvent* event) {
  const auto [row, column] = cellAt(event->position());
  const QString text = cellText(row, column);
  hover_->setText(text);
  if (!text.isEmpty()) QToolTip::showText(event->globalPosition().toPoint(), text, heatmap_);
}

} // namespace t2i::ui
