#include "training/probe_gallery_view.h"

#include "jobs/job_runner.h"
#include "sampling/image_conversion.h"
#include "widgets/neighbour_panel.h"
#include "widgets/pixel_image_view.h"

#include "t2i/runs.h"

#include <QComboBox>
#include <QCoreApplication>
#include <QDialog>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QRadioButton>
#include <QSlider>
#include <QTimer>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <memory>

namespace t2i::ui {
namespace {

constexpr int kPlayIntervalMs = 400;
constexpr int kCachedSheetKilobytes = 64 * 1024;  // a 64×64 preset's sheet is about 1.5 MB
constexpr int kImageEdge = 320;

int last(int count) { return std::max(0, count - 1); }

constexpr std::ptrdiff_t kSharesShown = 12;  ///< the memorisation line's latest evaluations

QString percent(double share) { return QStringLiteral("%1%").arg(std::lround(share * 100)); }

} // namespace

QString sparkline(const std::vector<std::int64_t>& counts) {
  static const QString kLevels = QStringLiteral("▁▂▃▄▅▆▇█");
  const std::int64_t top = counts.empty() ? 0 : *std::max_element(counts.begin(), counts.end());
  QString line;
  for (const std::int64_t count : counts) {
    // Levels round up, so a bin with one image still shows a bar; an empty bin is a space.
    const auto level = top > 0 ? (count * (kLevels.size() - 1) + top - 1) / top : 0;
    line += count == 0 ? QChar(u' ') : kLevels.at(static_cast<qsizetype>(level));
  }
  return line;
}

QString memorisationText(const train::MemorisationCurve& curve, std::int64_t step) {
  const auto at = std::find_if(curve.points.begin(), curve.points.end(),
                               [step](const train::MemorisationCurve::Point& p) { return p.step == step; });
  if (at == curve.points.end()) return {};
  const auto first = static_cast<std::ptrdiff_t>(curve.points.size()) > kSharesShown ? curve.points.end() - kSharesShown : curve.points.begin();
  QStringList shares;
  if (first != curve.points.begin()) shares << QStringLiteral("…");
  for (auto p = first; p != curve.points.end(); ++p) shares << (p == at ? QStringLiteral("[%1]") : QStringLiteral("%1")).arg(percent(p->share));
  return QCoreApplication::translate("ProbeGalleryView",
                                     "Memorisation at step %1: %2 of %3 final probe images are closer to a training image than "
                                     "%4 of training images are to their own nearest (threshold %5, %6; baseline of %7 "
                                     "images, their nearest from %9 |%10| to %11). Share at each evaluation: %8.")
      .arg(step)
      .arg(at->flagged)
      .arg(at->probes)
      .arg(percent(curve.percentile))
      .arg(curve.threshold, 0, 'f', 3)
      .arg(QString::fromStdString(evaluate::describe(curve.measure)))
      .arg(curve.images)
      .arg(shares.join(QStringLiteral(" · ")))
      .arg(curve.baseline.low, 0, 'f', 3)
      .arg(sparkline(curve.baseline.counts))
      .arg(curve.baseline.high, 0, 'f', 3);
}

ProbeGalleryView::ProbeGalleryView(QWidget* parent)
    : QWidget(parent),
      indexReader_(
          QStringLiteral("probe gallery"),
          [this](ProbeRunData data) {
            gallery_ = std::move(data.gallery);
            memorisation_ = std::move(data.memorisation);
            rebuild();
            Q_EMIT galleryShown();
          },
          [this](const QString& message) { note_->setText(tr("Cannot read the probe gallery: %1").arg(message)); }),
      sheetReader_(new JobRunner(this)),
      sheets_(kCachedSheetKilobytes), probeBox_(new QComboBox(this)), training_(new QSlider(Qt::Horizontal, this)),
      trainingLabel_(new QLabel(this)), denoising_(new QSlider(Qt::Horizontal, this)), denoisingLabel_(new QLabel(this)),
      estimate_(new QRadioButton(tr("x̂₀ (the model's estimate)"), this)), noisy_(new QRadioButton(tr("x_t (noisy)"), this)),
      play_(new QPushButton(tr("Pla&y"), this)), playTimer_(new QTimer(this)), image_(new PixelImageView(this)),
      note_(new QLabel(this)), memorisationLabel_(new QLabel(this)),
      neighbours_(new QPushButton(tr("Nearest training images…"), this)) {
  setObjectName(QStringLiteral("probeGallery"));
  probeBox_->setObjectName(QStringLiteral("probeChooser"));
  training_->setObjectName(QStringLiteral("probeTrainingStep"));
  denoising_->setObjectName(QStringLiteral("probeDenoisingStep"));
  estimate_->setObjectName(QStringLiteral("probeEstimate"));
  noisy_->setObjectName(QStringLiteral("probeNoisy"));
  play_->setObjectName(QStringLiteral("probePlay"));
  image_->setObjectName(QStringLiteral("probeImage"));
  note_->setObjectName(QStringLiteral("probeNote"));
  memorisationLabel_->setObjectName(QStringLiteral("probeMemorisation"));
  neighbours_->setObjectName(QStringLiteral("probeNeighbours"));
  neighbours_->setToolTip(tr("The training images nearest this probe's final image at this training step, with "
                             "their captions: does the model copy one?"));
  neighbours_->setEnabled(false);
  memorisationLabel_->setWordWrap(true);
  memorisationLabel_->setToolTip(tr("Each evaluation's final probe images against the nearest training image: an image "
                                    "closer than 95% of training images are to their own nearest may copy it "
                                    "(Somepalli et al. 2023)."));

  probeBox_->setToolTip(tr("The probes: fixed prompts (validation captions and your own) × seeds × guidance scales, "
                           "sampled with the EMA weights at step 0 and at every evaluation."));
  probeBox_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  probeBox_->setMinimumContentsLength(30);
  training_->setToolTip(tr("The training step: step 0 and every evaluation."));
  denoising_->setToolTip(tr("The denoising step of the sampler, from pure noise to the final image."));
  play_->setCheckable(true);
  play_->setToolTip(tr("Step through the training steps at the chosen denoising step."));
  estimate_->setChecked(true);
  playTimer_->setInterval(kPlayIntervalMs);
  image_->setPreferredEdge(kImageEdge);
  image_->setPlaceholder(tr("No probe gallery"));
  note_->setWordWrap(true);
  note_->setTextFormat(Qt::PlainText);
  for (QSlider* slider : {training_, denoising_}) {
    slider->setPageStep(1);
    slider->setTickPosition(QSlider::TicksBelow);
  }

  connect(probeBox_, qOverload<int>(&QComboBox::currentIndexChanged), this, &ProbeGalleryView::showCurrent);
  connect(training_, &QSlider::valueChanged, this, &ProbeGalleryView::showCurrent);
  connect(denoising_, &QSlider::valueChanged, this, &ProbeGalleryView::showCurrent);
  connect(noisy_, &QRadioButton::toggled, this, &ProbeGalleryView::showCurrent);
  connect(play_, &QPushButton::toggled, this, &ProbeGalleryView::setPlaying);
  connect(neighbours_, &QPushButton::clicked, this, &ProbeGalleryView::openNeighbours);
  // A tick waits for the shown evaluation's sheet, so a slow disk slows play instead of skipping.
  connect(playTimer_, &QTimer::timeout, this, [this] {
    if (!sheetReader_->isRunning()) advancePlay();
  });
  connect(sheetReader_, &JobRunner::failed, this,
          [this](const QString& message) { note_->setText(tr("Cannot read a probe sheet: %1").arg(message)); });

  auto* kinds = new QHBoxLayout;
  kinds->addWidget(new QLabel(tr("Probe:"), this));
  kinds->addWidget(probeBox_, 1);
  kinds->addWidget(estimate_);
  kinds->addWidget(noisy_);
  auto* axes = new QGridLayout;
  axes->addWidget(new QLabel(tr("Training step:"), this), 0, 0);
  axes->addWidget(training_, 0, 1);
  axes->addWidget(trainingLabel_, 0, 2);
  axes->addWidget(play_, 0, 3);
  axes->addWidget(new QLabel(tr("Denoising step:"), this), 1, 0);
  axes->addWidget(denoising_, 1, 1);
  axes->addWidget(denoisingLabel_, 1, 2, 1, 2);
  axes->setColumnStretch(1, 1);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(kinds);
  layout->addLayout(axes);
  layout->addWidget(note_);
  layout->addWidget(image_, 1);
  auto* memorisation = new QHBoxLayout;
  memorisation->addWidget(memorisationLabel_, 1);
  memorisation->addWidget(neighbours_, 0, Qt::AlignTop);
  layout->addLayout(memorisation);
  rebuild();
}

void ProbeGalleryView::setRunFolder(const QString& folder) {
  folder_ = folder;
  setPlaying(false);
  gallery_.reset();
  sheets_.clear();
  rebuild();
  reload();
}

void ProbeGalleryView::reload() {
  if (folder_.isEmpty()) return;
  // A run just started may have no folder contents yet: nothing to show rather than an error.
  indexReader_.request([path = folder_.toStdString()]() -> ProbeRunData {
    if (!train::is_run_folder(path)) return {};
    return {train::read_probe_gallery(path), train::read_memorisation(path)};
  });
}

void ProbeGalleryView::rebuild() {
  const int evaluations = gallery_ ? static_cast<int>(gallery_->evaluations.size()) : 0;
  const int recorded = gallery_ ? static_cast<int>(gallery_->recorded_steps.size()) : 0;
  const int probes = gallery_ ? gallery_->probe_count() : 0;
  // Showing the newest evaluation (or nothing yet): follow the run to its new newest.
  const bool followNewest = training_->value() >= training_->maximum();
  const bool firstShow = probeBox_->count() != probes;
  {
    const QSignalBlocker blockTraining(training_), blockDenoising(denoising_), blockProbes(probeBox_);
    if (firstShow) {
      probeBox_->clear();
      for (int p = 0; p < probes; ++p) probeBox_->addItem(QString::fromStdString(gallery_->probe_label(p)));
    }
    training_->setRange(0, last(evaluations));
    if (followNewest) training_->setValue(training_->maximum());
    denoising_->setRange(0, last(recorded));
    if (firstShow) denoising_->setValue(denoising_->maximum());  // the final image first
  }
  for (QWidget* control : std::initializer_list<QWidget*>{probeBox_, training_, denoising_, estimate_, noisy_, play_})
    control->setEnabled(evaluations > 0);
  if (!gallery_)
    note_->setText(folder_.isEmpty() ? QString()
                                     : tr("No probe gallery: the run keeps one from step 0 unless trained with --no-probes "
                                          "or the Probe gallery box off (runs trained before galleries have none)."));
  else if (evaluations == 0)
    note_->setText(tr("No probes sampled yet: the first are sampled at step 0."));
  else
    note_->clear();
  note_->setVisible(!note_->text().isEmpty());
  showCurrent();
}

int ProbeGalleryView::evaluation() const { return training_->value(); }
int ProbeGalleryView::recorded() const { return denoising_->value(); }
int ProbeGalleryView::probe() const { return std::max(0, probeBox_->currentIndex()); }
train::ProbeImage ProbeGalleryView::kind() const { return noisy_->isChecked() ? train::ProbeImage::Noisy : train::ProbeImage::Estimate; }

void ProbeGalleryView::setEvaluation(int index) { training_->setValue(index); }
void ProbeGalleryView::setRecorded(int index) { denoising_->setValue(index); }
void ProbeGalleryView::setProbe(int probe) { probeBox_->setCurrentIndex(probe); }

void ProbeGalleryView::setKind(train::ProbeImage kind) {
  (kind == train::ProbeImage::Noisy ? noisy_ : estimate_)->setChecked(true);
}

bool ProbeGalleryView::isPlaying() const { return playTimer_->isActive(); }

void ProbeGalleryView::setPlaying(bool playing) {
  const bool possible = playing && gallery_ && gallery_->evaluations.size() > 1;
  if (possible && evaluation() >= training_->maximum()) setEvaluation(0);
  if (possible)
    playTimer_->start();
  else
    playTimer_->stop();
  const QSignalBlocker block(play_);
  play_->setChecked(possible);
  play_->setText(possible ? tr("Pau&se") : tr("Pla&y"));
}

void ProbeGalleryView::advancePlay() {
  if (evaluation() < training_->maximum()) setEvaluation(evaluation() + 1);
  if (evaluation() >= training_->maximum()) setPlaying(false);
}

QString ProbeGalleryView::caption() const {
  if (!gallery_ || gallery_->evaluations.empty()) return {};
  const int k = recorded();
  return tr("%1 · training step %2 · %3 at sampling step %4 of %5")
      .arg(QString::fromStdString(gallery_->probe_label(probe())))
      .arg(gallery_->evaluations[static_cast<std::size_t>(evaluation())].step)
      .arg(kind() == train::ProbeImage::Noisy ? tr("x_t") : tr("x̂₀"))
      .arg(gallery_->recorded_steps[static_cast<std::size_t>(k)])
      .arg(gallery_->sampling_steps);
}

QString ProbeGalleryView::memorisationLine() const { return memorisationLabel_->text(); }

void ProbeGalleryView::updateLabels() {
  if (!gallery_ || gallery_->evaluations.empty()) {
    trainingLabel_->clear();
    denoisingLabel_->clear();
    memorisationLabel_->clear();
    return;
  }
  const std::int64_t step = gallery_->evaluations[static_cast<std::size_t>(evaluation())].step;
  memorisationLabel_->setText(memorisation_ ? memorisationText(*memorisation_, step) : QString());
  trainingLabel_->setText(tr("step %1 (%2 of %3)")
                              .arg(step)
                              .arg(evaluation() + 1)
                              .arg(gallery_->evaluations.size()));
  const auto k = static_cast<std::size_t>(recorded());
  const QString t = k < gallery_->recorded_t.size() ? tr(" · t = %1").arg(gallery_->recorded_t[k], 0, 'f', 3) : QString();
  denoisingLabel_->setText(tr("%1 of %2 sampling steps%3").arg(gallery_->recorded_steps[k]).arg(gallery_->sampling_steps).arg(t));
}

void ProbeGalleryView::showCurrent() {
  updateLabels();
  if (!gallery_ || gallery_->evaluations.empty()) {
    shown_ = QImage();
    image_->clear();
    image_->setCaption({});
    neighbours_->setEnabled(false);
    return;
  }
  const std::int64_t step = gallery_->evaluations[static_cast<std::size_t>(evaluation())].step;
  const Image* sheet = sheets_.object(step);
  if (sheet == nullptr) {
    loadSheet(evaluation());  // shows it when read
    return;
  }
  shown_ = toQImage(train::probe_tile(*gallery_, *sheet, probe(), static_cast<std::size_t>(recorded()), kind()));
  image_->setImage(shown_);
  image_->setCaption(caption());
  neighbours_->setEnabled(true);
  Q_EMIT tileShown();
}

QImage ProbeGalleryView::finalImage() const {
  if (!gallery_ || gallery_->evaluations.empty() || gallery_->recorded_steps.empty()) return {};
  const Image* sheet = sheets_.object(gallery_->evaluations[static_cast<std::size_t>(evaluation())].step);
  if (sheet == nullptr) return {};
  return toQImage(train::probe_tile(*gallery_, *sheet, probe(), gallery_->recorded_steps.size() - 1, train::ProbeImage::Estimate));
}

NeighbourPanel* ProbeGalleryView::openNeighbours() {
  const QImage query = finalImage();
  if (query.isNull()) return nullptr;
  if (neighboursWindow_ == nullptr) {
    neighboursWindow_ = new QDialog(this);
    neighboursWindow_->setObjectName(QStringLiteral("probeNeighboursWindow"));
    neighbourPanel_ = new NeighbourPanel(neighboursWindow_);
    auto* layout = new QVBoxLayout(neighboursWindow_);
    layout->addWidget(neighbourPanel_);
    neighboursWindow_->resize(960, 480);
  }
  neighboursWindow_->setWindowTitle(tr("Nearest training images: %1, step %2")
                                        .arg(probeBox_->currentText())
                                        .arg(gallery_->evaluations[static_cast<std::size_t>(evaluation())].step));
  // The run's checkpoint names its training data; the search reads that.
  const auto checkpoint = train::offered_checkpoint(folder_.toStdString());
  neighbourPanel_->setQuery(checkpoint ? QString::fromStdString(checkpoint->path) : QString(), query);
  if (!checkpoint) neighbourPanel_->setUnavailable(tr("This run has no checkpoint yet, and its training data is found through one."));
  neighboursWindow_->show();
  neighboursWindow_->raise();
  return neighbourPanel_;
}

void ProbeGalleryView::loadSheet(int evaluation) {
  if (sheetReader_->isRunning()) return;  // its finish shows the current choice, loading it then
  auto sheet = std::make_shared<Image>();
  const std::int64_t step = gallery_->evaluations[static_cast<std::size_t>(evaluation)].step;
  disconnect(sheetReader_, &JobRunner::finished, this, nullptr);
  connect(sheetReader_, &JobRunner::finished, this, [this, sheet, step](bool cancelled) {
    if (cancelled || sheet->rgb.empty()) return;
    const auto kilobytes = static_cast<qsizetype>(sheet->rgb.size() / 1024) + 1;
    sheets_.insert(step, new Image(std::move(*sheet)), kilobytes);
    showCurrent();
  });
  sheetReader_->start(QStringLiteral("probe sheet"), [sheet, gallery = *gallery_, evaluation](const job::Context&) {
    *sheet = train::read_probe_sheet(gallery, static_cast<std::size_t>(evaluation));
  });
}

} // namespace t2i::ui
