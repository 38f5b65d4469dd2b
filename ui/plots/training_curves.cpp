#include "plots/training_curves.h"

#include "plots/metric_plot.h"

#include <QGridLayout>

#include <utility>

namespace t2i::ui {

double Smoother::add(double value) {
  average_ = weight_ * average_ + (1 - weight_) * value;
  correction_ *= weight_;
  return average_ / (1 - correction_);
}

void Smoother::reset() {
  average_ = 0;
  correction_ = 1;
}

namespace {
// The compared run's colour in every chart: apart from the shown run's blue, orange, green and purple.
const QColor kComparedColor(40, 40, 40);

QString smoothedName() { return TrainingCurves::tr("smoothed (EMA %1)").arg(TrainingCurves::kSmoothing); }
} // namespace

RunCurves runCurves(const train::History& history) {
  RunCurves curves;
  Smoother smoother(TrainingCurves::kSmoothing);
  for (const train::StepMetrics& m : history.steps)
    curves.smoothedLoss << QPointF(static_cast<double>(m.step), smoother.add(m.train_loss));
  for (const train::EvalMetrics& eval : history.evals) {
    const auto step = static_cast<double>(eval.step);
    curves.valP2 << QPointF(step, eval.val_p2);
    if (eval.fid) curves.fid << QPointF(step, *eval.fid);
  }
  return curves;
}

TrainingCurves::TrainingCurves(QWidget* parent)
    : QWidget(parent), loss_(new MetricPlot(tr("Training loss (P2-weighted)"), tr("loss"), this)),
      val_(new MetricPlot(tr("Validation P2 loss"), tr("val P2"), this)),
      fid_(new MetricPlot(tr("FID and KID"), tr("FID"), this)) {
  loss_->setObjectName(QStringLiteral("lossPlot"));
  val_->setObjectName(QStringLiteral("valPlot"));
  fid_->setObjectName(QStringLiteral("fidPlot"));
  loss_->setToolTip(tr("The P2-weighted denoising loss of each training batch (Choi et al. 2022; paper §5.5). "
                       "Noisy by nature: read the smoothed curve."));
  val_->setToolTip(tr("The P2 loss on the validation split with fixed noise and timesteps, so evaluations are "
                      "comparable. The best checkpoint is chosen by it."));
  fid_->setToolTip(tr("Fréchet Inception Distance between generated and real validation images (lower is "
                      "better; paper §5.6), and KID, which is unbiased when few images are compared."));

  loss_->addSeries(tr("train loss"), QColor(160, 190, 230), MetricPlot::Style::Line);
  loss_->addSeries(smoothedName(), QColor(20, 80, 180), MetricPlot::Style::Line);
  val_->addSeries(tr("val P2"), QColor(200, 90, 20), MetricPlot::Style::LineAndDots);
  fid_->addSeries(tr("FID"), QColor(40, 140, 60), MetricPlot::Style::LineAndDots);
  fid_->addSeries(tr("KID"), QColor(140, 60, 160), MetricPlot::Style::LineAndDots, MetricPlot::Axis::Right);
  loss_->setLogScale(true);

  auto* layout = new QGridLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(loss_, 0, 0, 1, 2);
  layout->addWidget(val_, 1, 0);
  layout->addWidget(fid_, 1, 1);
  layout->setRowStretch(0, 1);
  layout->setRowStretch(1, 1);
}

void TrainingCurves::clear() {
  clearComparison();
  for (MetricPlot* plot : {loss_, val_, fid_}) plot->clearPoints();
  smoother_.reset();
  lastStep_ = -1;
  fidSeen_ = false;
}

void TrainingCurves::addSteps(const std::vector<train::StepMetrics>& steps) {
  for (const train::StepMetrics& m : steps) {
    const auto step = static_cast<double>(m.step);
    if (step <= lastStep_) {
      // A resumed run redoes the steps after its checkpoint: drop the old ones and restart the
      // smoothing from what is left.
      for (MetricPlot* plot : {loss_, val_, fid_}) plot->removeFrom(step);
      drawComparison();
      smoother_.reset();
      for (const QPointF& p : loss_->points(RawLoss)) smoother_.add(p.y());
    }
    lastStep_ = step;
    loss_->addPoint(RawLoss, step, m.train_loss);
    loss_->addPoint(SmoothedLoss, step, smoother_.add(m.train_loss));
  }
}

void TrainingCurves::addEval(const train::EvalMetrics& eval) {
  const auto step = static_cast<double>(eval.step);
  val_->addPoint(0, step, eval.val_p2);
  if (eval.fid) {
    fid_->addPoint(Fid, step, *eval.fid);
    fidSeen_ = true;
  }
  if (eval.kid) fid_->addPoint(Kid, step, *eval.kid);
  const QString status = QString::fromStdString(eval.fid_status);
  if (eval.fid)
    fid_->setNote(status);
  else if (!fidSeen_)
    fid_->setNote(fidUnavailableNote(status));
}

QString TrainingCurves::fidUnavailableNote(const QString& status) {
  // The core's status already says "FID unavailable: <why>" and where the weights come from.
  const QString why = status.isEmpty() ? tr("FID was not computed at this evaluation.") : status + QLatin1Char('.');
  return why + QLatin1Char(' ') +
         tr("To enable it, choose the Inception weights file (pt_inception-2015-12-05-6726825d.pth) under "
            "Evaluation and start or continue the run.");
}

void TrainingCurves::setHistory(const train::History& history) {
  clear();
  addSteps(history.steps);
  for (const train::EvalMetrics& eval : history.evals) addEval(eval);
}

void TrainingCurves::showComparison(const QString& shownRun, const QString& otherRun, const train::History& other) {
  clearComparison();
  comparison_ = runCurves(other);
  nameShownSeries(shownRun);
  loss_->addSeries(otherRun + QStringLiteral(": ") + smoothedName(), kComparedColor);
  val_->addSeries(otherRun + QStringLiteral(": ") + tr("val P2"), kComparedColor, MetricPlot::Style::LineAndDots);
  fid_->addSeries(otherRun + QStringLiteral(": ") + tr("FID"), kComparedColor, MetricPlot::Style::LineAndDots);
  drawComparison();
}

void TrainingCurves::clearComparison() {
  if (!comparison_) return;
  comparison_.reset();
  loss_->removeSeries(kComparedLoss);
  val_->removeSeries(kComparedValP2);
  fid_->removeSeries(kComparedFid);
  nameShownSeries({});
}

void TrainingCurves::drawComparison() const {
  if (!comparison_) return;
  loss_->setPoints(kComparedLoss, comparison_->smoothedLoss);
  val_->setPoints(kComparedValP2, comparison_->valP2);
  fid_->setPoints(kComparedFid, comparison_->fid);
}

void TrainingCurves::nameShownSeries(const QString& run) {
  const QString prefix = run.isEmpty() ? QString() : run + QStringLiteral(": ");
  // The compared run's series come after the shown run's, so their index is the shown ones' count.
  const std::initializer_list<std::pair<MetricPlot*, int>> plots{{loss_, kComparedLoss}, {val_, kComparedValP2}, {fid_, kComparedFid}};
  for (const auto& [plot, shown] : plots)
    for (int series = 0; series < shown; ++series)
      plot->setSeriesName(series, prefix + plot->seriesName(series).mid(shownPrefix_.size()));
  shownPrefix_ = prefix;
}

void TrainingCurves::drawNow() const {
  for (const MetricPlot* plot : {loss_, val_, fid_}) plot->flushRedraw();
}

void TrainingCurves::setFidHint(const QString& hint) {
  if (!fidSeen_) fid_->setNote(hint);
}

} // namespace t2i::ui
