#include "schedules_page.h"

#include "data/schedule_image.h"
#include "pages/page_intro.h"
#include "settings.h"
#include "widgets/curve_plot.h"
#include "widgets/labelled_image_grid.h"
#include "widgets/pixel_image_view.h"

#include "t2i/data.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSlider>
#include <QSpinBox>
#include <QToolButton>

#include <exception>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace t2i::ui {
namespace {
using t2i::diffusion::ScheduleKind;

constexpr int kEdge = 64;                ///< x₀ is shown at the paper's 64×64
constexpr std::size_t kDemoImages = 24;
constexpr int kStripMinimumHeight = 150;
const QColor kLinearColour(31, 119, 180);
const QColor kCosineColour(230, 110, 0);

int curveIndex(ScheduleKind kind) { return kind == ScheduleKind::Linear ? 0 : 1; }

/// Drops points a log scale cannot show (log-SNR is ±∞ at the ends of some schedules).
void setFiniteCurve(CurvePlot* plot, int curve, const std::vector<double>& t, const std::vector<double>& values) {
  QVector<double> keys;
  QVector<double> finite;
  for (std::size_t i = 0; i < t.size() && i < values.size(); ++i)
    if (std::isfinite(values[i])) {
      keys << t[i];
      finite << values[i];
    }
  plot->setCurve(curve, keys, finite);
}
} // namespace

QList<double> SchedulesPage::stripTimes() { return {0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0}; }

SchedulesPage::SchedulesPage(QWidget* parent) : QWidget(parent) {
  auto* work = new QHBoxLayout;
  work->addWidget(createImages(), 3);
  work->addWidget(createPlots(), 2);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(new PageIntro(tr("Schedules"),
                                  tr("How fast each noise schedule destroys an image: move t to see x_t under the "
                                     "linear and the cosine schedule on the same noise, and how the P2 loss weight "
                                     "1/(k + SNR)^γ spreads training effort over t."),
                                  this));
  layout->addLayout(work, 1);

  connect(&demoJob_, &JobRunner::failed, this, [this](const QString& message) {
    caption_->setText(tr("The demo images could not be made (%1); open an image file instead.").arg(message));
    Q_EMIT demoImagesReady(0);
  });
  setP2(settings::schedulesP2K.value(), settings::schedulesP2Gamma.value());
  const int steps = steps_->findData(settings::schedulesSteps.value());
  steps_->setCurrentIndex(steps >= 0 ? steps : 0);
  updateCurves();
  const QString file = settings::schedulesImageFile.value();
  if (!file.isEmpty() && QFileInfo(file).isFile()) openImage(file);
}

SchedulesPage::~SchedulesPage() {
  settings::schedulesSteps.setValue(steps_->currentData().toInt());
  settings::schedulesP2K.setValue(p2K());
  settings::schedulesP2Gamma.setValue(p2Gamma());
}

QWidget* SchedulesPage::createImages() {
  auto* area = new QWidget(this);
  linearView_ = new PixelImageView(area);
  linearView_->setObjectName(QStringLiteral("linearView"));
  linearView_->setPlaceholder(tr("x_t under the linear schedule"));
  cosineView_ = new PixelImageView(area);
  cosineView_->setObjectName(QStringLiteral("cosineView"));
  cosineView_->setPlaceholder(tr("x_t under the cosine schedule"));
  auto* views = new QHBoxLayout;
  views->addWidget(linearView_, 1);
  views->addWidget(cosineView_, 1);

  strip_ = new LabelledImageGrid(area);
  strip_->setObjectName(QStringLiteral("scheduleStrip"));
  strip_->setMinimumHeight(kStripMinimumHeight);
  auto* stripBox = new QGroupBox(tr("x_t at evenly spaced t (the paper's Figure 2)"), area);
  auto* stripLayout = new QVBoxLayout(stripBox);
  stripLayout->addWidget(strip_);

  auto* layout = new QVBoxLayout(area);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(createImageControls(area));
  layout->addLayout(views, 3);
  layout->addWidget(stripBox, 2);
  connectImageControls();
  return area;
}

QLayout* SchedulesPage::createImageControls(QWidget* area) {
  picker_ = new QComboBox(area);
  picker_->setObjectName(QStringLiteral("imagePicker"));
  picker_->setPlaceholderText(tr("preparing the demo images…"));
  picker_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  picker_->setMinimumContentsLength(24);
  openFile_ = new QToolButton(area);
  openFile_->setText(tr("Open…"));
  openFile_->setToolTip(tr("Use an image file as x₀ (centre-cropped to 64×64)"));
  caption_ = new QLabel(area);
  caption_->setObjectName(QStringLiteral("imageCaption"));
  caption_->setWordWrap(true);
  steps_ = new QComboBox(area);
  steps_->setObjectName(QStringLiteral("scheduleSteps"));
  steps_->addItem(tr("discrete, T = 1000"), 1000);
  steps_->addItem(tr("discrete, T = 500"), 500);
  steps_->addItem(tr("continuous time (log-SNR form)"), 0);
  steps_->setToolTip(tr("Table 1 of the paper uses 500 or 1000 diffusion steps"));
  seed_ = new QSpinBox(area);
  seed_->setObjectName(QStringLiteral("noiseSeed"));
  seed_->setRange(0, 1 << 30);
  seed_->setToolTip(tr("Seed of the noise ε: both schedules add the same ε"));
  time_ = new QSlider(Qt::Horizontal, area);
  time_->setObjectName(QStringLiteral("timeSlider"));
  time_->setRange(0, kTimeTicks);
  time_->setValue(kTimeTicks / 2);
  time_->setPageStep(kTimeTicks / 20);
  timeLabel_ = new QLabel(area);
  timeLabel_->setMinimumWidth(timeLabel_->fontMetrics().horizontalAdvance(QStringLiteral("t = 0.000 (step 1000 of 1000)")));

  auto* imageRow = new QHBoxLayout;
  imageRow->addWidget(picker_, 1);
  imageRow->addWidget(openFile_);
  auto* timeRow = new QHBoxLayout;
  timeRow->addWidget(time_, 1);
  timeRow->addWidget(timeLabel_);
  auto* scheduleRow = new QHBoxLayout;
  scheduleRow->addWidget(steps_, 1);
  scheduleRow->addWidget(new QLabel(tr("noise seed"), area));
  scheduleRow->addWidget(seed_);
  auto* form = new QFormLayout;
  form->addRow(tr("Image x₀"), imageRow);
  form->addRow(QString(), caption_);
  form->addRow(tr("Schedule"), scheduleRow);
  form->addRow(tr("Time t"), timeRow);
  return form;
}

void SchedulesPage::connectImageControls() {
  connect(picker_, &QComboBox::activated, this, &SchedulesPage::selectDemoImage);
  connect(openFile_, &QToolButton::clicked, this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, tr("Open image"), QString(),
                                                      tr("Images (*.png *.jpg *.jpeg *.bmp);;All files (*)"));
    if (!path.isEmpty()) openImage(path);
  });
  connect(steps_, &QComboBox::currentIndexChanged, this, [this] {
    updateCurves();
    updateNoised();
    updateStrip();
  });
  connect(seed_, &QSpinBox::valueChanged, this, [this] {
    updateNoised();
    updateStrip();
  });
  connect(time_, &QSlider::valueChanged, this, [this] {
    updateNoised();
    for (CurvePlot* plot : {logSnrPlot_, alphaBarPlot_, p2Plot_}) plot->setMarker(t());
  });
}

QWidget* SchedulesPage::createPlots() {
  auto* area = new QWidget(this);
  logSnrPlot_ = new CurvePlot(tr("log-SNR(t) = log(α²/σ²)"), tr("log-SNR"), area);
  alphaBarPlot_ = new CurvePlot(tr("ᾱ_t, the signal's share of x_t's variance"), tr("ᾱ"), area);
  p2Plot_ = new CurvePlot(tr("P2 weight 1 / (k + SNR)^γ"), tr("weight"), area);
  logSnrPlot_->setObjectName(QStringLiteral("logSnrPlot"));
  alphaBarPlot_->setObjectName(QStringLiteral("alphaBarPlot"));
  p2Plot_->setObjectName(QStringLiteral("p2Plot"));
  for (CurvePlot* plot : {logSnrPlot_, alphaBarPlot_, p2Plot_}) {
    plot->addCurve(tr("linear"), kLinearColour);
    plot->addCurve(tr("cosine"), kCosineColour);
  }

  k_ = new QSlider(Qt::Horizontal, area);
  k_->setObjectName(QStringLiteral("p2KSlider"));
  k_->setRange(1, 5 * kKTicks);
  k_->setToolTip(tr("k keeps the weight finite where the SNR is near 0 (the paper's code: k = 1)"));
  gamma_ = new QSlider(Qt::Horizontal, area);
  gamma_->setObjectName(QStringLiteral("p2GammaSlider"));
  gamma_->setRange(0, 2 * kGammaTicks);
  gamma_->setToolTip(tr("γ = 0 is the simple (uniform) loss; larger γ shifts weight to noisier steps "
                        "(the paper's code: γ = 0.5)"));
  kLabel_ = new QLabel(area);
  gammaLabel_ = new QLabel(area);
  for (QLabel* label : {kLabel_, gammaLabel_})
    label->setMinimumWidth(label->fontMetrics().horizontalAdvance(QStringLiteral("γ = 0.00")));
  auto* sliders = new QFormLayout;
  auto* kRow = new QHBoxLayout;
  kRow->addWidget(k_, 1);
  kRow->addWidget(kLabel_);
  auto* gammaRow = new QHBoxLayout;
  gammaRow->addWidget(gamma_, 1);
  gammaRow->addWidget(gammaLabel_);
  sliders->addRow(tr("P2 k"), kRow);
  sliders->addRow(tr("P2 γ"), gammaRow);

  auto* layout = new QVBoxLayout(area);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(logSnrPlot_, 1);
  layout->addWidget(alphaBarPlot_, 1);
  layout->addWidget(p2Plot_, 1);
  layout->addLayout(sliders);

  for (QSlider* slider : {k_, gamma_})
    connect(slider, &QSlider::valueChanged, this, [this] {
      updateLabels();
      updateCurves();
    });
  return area;
}

t2i::diffusion::ScheduleSpec SchedulesPage::spec(ScheduleKind kind) const {
  t2i::diffusion::ScheduleSpec spec;
  spec.kind = kind;
  spec.steps = steps_->currentData().toInt();
  return spec;
}

double SchedulesPage::t() const { return static_cast<double>(time_->value()) / kTimeTicks; }

void SchedulesPage::setT(double t) { time_->setValue(static_cast<int>(std::lround(std::clamp(t, 0.0, 1.0) * kTimeTicks))); }

double SchedulesPage::p2K() const { return static_cast<double>(k_->value()) / kKTicks; }

double SchedulesPage::p2Gamma() const { return static_cast<double>(gamma_->value()) / kGammaTicks; }

void SchedulesPage::setP2(double k, double gamma) {
  {
    const QSignalBlocker kBlocker(k_);
    const QSignalBlocker gammaBlocker(gamma_);
    k_->setValue(static_cast<int>(std::lround(k * kKTicks)));
    gamma_->setValue(static_cast<int>(std::lround(gamma * kGammaTicks)));
  }
  updateLabels();
  updateCurves();
}

void SchedulesPage::updateLabels() {
  kLabel_->setText(tr("k = %1").arg(p2K(), 0, 'f', 1));
  gammaLabel_->setText(tr("γ = %1").arg(p2Gamma(), 0, 'f', 2));
}

void SchedulesPage::updateCurves() {
  for (ScheduleKind kind : {ScheduleKind::Linear, ScheduleKind::Cosine}) {
    const t2i::diffusion::ScheduleCurves curves = t2i::diffusion::schedule_curves(spec(kind), p2K(), p2Gamma());
    const int curve = curveIndex(kind);
    setFiniteCurve(logSnrPlot_, curve, curves.t, curves.log_snr);
    setFiniteCurve(alphaBarPlot_, curve, curves.t, curves.alpha_bar);
    setFiniteCurve(p2Plot_, curve, curves.t, curves.p2_weight);
  }
  for (CurvePlot* plot : {logSnrPlot_, alphaBarPlot_, p2Plot_}) {
    plot->rescale();
    plot->setMarker(t());
  }
}

QVector<QPointF> SchedulesPage::plotted(Quantity quantity, ScheduleKind kind) const {
  const CurvePlot* plot = quantity == Quantity::LogSnr ? logSnrPlot_ : quantity == Quantity::AlphaBar ? alphaBarPlot_ : p2Plot_;
  return plot->points(curveIndex(kind));
}

PixelImageView* SchedulesPage::view(ScheduleKind kind) const {
  return kind == ScheduleKind::Linear ? linearView_ : cosineView_;
}

void SchedulesPage::showEvent(QShowEvent* event) {
  QWidget::showEvent(event);
  if (!demoRequested_) prepareDemoImages();
}

void SchedulesPage::prepareDemoImages() {
  demoRequested_ = true;
  const QString folder = settings::cacheRoot() + QStringLiteral("/schedules-demo");
  demoJob_.start(QStringLiteral("schedules-demo"), [this, folder](const job::Context&) {
    t2i::data::DemoOptions options;
    options.images = kDemoImages;
    options.image_size = kEdge;
    options.captions_per_image = 1;
    const t2i::data::DemoDataset demo = t2i::data::make_demo_dataset(folder.toStdString(), options);
    const auto [files, captions] = readFirstCaptions(QString::fromStdString(demo.source.annotations),
                                                     QString::fromStdString(demo.source.images_dir));
    QMetaObject::invokeMethod(
        this,
        [this, files = files, captions = captions] {
          demoFiles_ = files;
          demoCaptions_ = captions;
          const QSignalBlocker blocker(picker_);
          picker_->clear();
          for (int i = 0; i < files.size(); ++i) picker_->addItem(tr("demo %1: %2").arg(i + 1).arg(captions.at(i)));
          picker_->setPlaceholderText(tr("an image file"));
          if (source_.isNull()) selectDemoImage(std::clamp(settings::schedulesDemoImage.value(), 0, static_cast<int>(files.size()) - 1));
          else picker_->setCurrentIndex(-1);
          Q_EMIT demoImagesReady(static_cast<int>(files.size()));
        },
        Qt::QueuedConnection);
  });
}

void SchedulesPage::selectDemoImage(int index) {
  if (index < 0 || index >= demoFiles_.size()) return;
  const QImage image = squareImageOrMessage(demoFiles_.at(index));
  if (image.isNull()) return;
  {
    const QSignalBlocker blocker(picker_);
    picker_->setCurrentIndex(index);
  }
  settings::schedulesDemoImage.setValue(index);
  settings::schedulesImageFile.reset();
  setImage(image, tr("Caption: \"%1\"").arg(demoCaptions_.at(index)));
}

bool SchedulesPage::openImage(const QString& path) {
  const QImage image = squareImageOrMessage(path);
  if (image.isNull()) return false;
  {
    const QSignalBlocker blocker(picker_);
    picker_->setCurrentIndex(-1);
  }
  settings::schedulesImageFile.setValue(QFileInfo(path).absoluteFilePath());
  setImage(image, tr("File: %1").arg(QFileInfo(path).fileName()));
  return true;
}

QImage SchedulesPage::squareImageOrMessage(const QString& path) {
  try {
    return loadSquareImage(path, kEdge);
  } catch (const std::exception& e) {
    caption_->setText(QString::fromStdString(e.what()));
    return {};
  }
}

void SchedulesPage::setImage(const QImage& square, const QString& caption) {
  source_ = square;
  pixels_ = toSignedPixels(source_);
  caption_->setText(caption);
  updateNoised();
  updateStrip();
}

QImage SchedulesPage::noised(ScheduleKind kind, double t) const {
  return fromSignedPixels(t2i::diffusion::noise_image(pixels_, kEdge, kEdge, 3, spec(kind), t,
                                                      static_cast<std::uint64_t>(seed_->value())),
                          kEdge, kEdge);
}

void SchedulesPage::updateNoised() {
  const double time = t();
  const int steps = steps_->currentData().toInt();
  timeLabel_->setText(steps > 0 ? tr("t = %1 (step %2 of %3)").arg(time, 0, 'f', 3).arg(std::lround(time * steps)).arg(steps)
                                : tr("t = %1").arg(time, 0, 'f', 3));
  if (pixels_.empty()) return;
  for (ScheduleKind kind : {ScheduleKind::Linear, ScheduleKind::Cosine}) {
    PixelImageView* target = view(kind);
    target->setImage(noised(kind, time));
    const QString name = kind == ScheduleKind::Linear ? tr("linear") : tr("cosine");
    const QVector<QPointF> alphaBar = plotted(Quantity::AlphaBar, kind);
    const QVector<QPointF> logSnr = plotted(Quantity::LogSnr, kind);
    if (time <= 0.0 || alphaBar.isEmpty() || logSnr.isEmpty()) {
      target->setCaption(tr("%1 · t = 0: x₀ itself").arg(name));
      continue;
    }
    // The plotted point nearest to t (a discrete schedule has one per step).
    const auto nearest = [time](const QVector<QPointF>& points) {
      return *std::min_element(points.begin(), points.end(), [time](const QPointF& a, const QPointF& b) {
        return std::abs(a.x() - time) < std::abs(b.x() - time);
      });
    };
    target->setCaption(tr("%1 · ᾱ = %2 · log-SNR = %3")
                           .arg(name)
                           .arg(nearest(alphaBar).y(), 0, 'f', 3)
                           .arg(nearest(logSnr).y(), 0, 'f', 2));
  }
}

void SchedulesPage::updateStrip() {
  QStringList columns;
  for (double time : stripTimes()) columns << tr("t = %1").arg(time, 0, 'g', 3);
  strip_->setLabels(QString(), columns, {tr("linear"), tr("cosine")});
  if (pixels_.empty()) return;
  for (int column = 0; column < columns.size(); ++column) {
    strip_->setImage(0, column, noised(ScheduleKind::Linear, stripTimes().at(column)));
    strip_->setImage(1, column, noised(ScheduleKind::Cosine, stripTimes().at(column)));
  }
}

} // namespace t2i::ui
