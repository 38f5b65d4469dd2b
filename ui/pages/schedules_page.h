// The Schedules page (the paper's Figure 2 and §5.5): one image noised to time t under the
// linear and the cosine schedule side by side, a strip of both at evenly spaced t, and plots of
// log-SNR(t), ᾱ_t and the P2 weight 1/(k + SNR)^γ with sliders for k and γ.
#pragma once

#include "jobs/job_runner.h"

#include "t2i/diffusion.h"

#include <QImage>
#include <QStringList>
#include <QWidget>

#include <vector>

class QComboBox;
class QLabel;
class QLayout;
class QSlider;
class QSpinBox;
class QToolButton;

namespace t2i::ui {

class CurvePlot;
class LabelledImageGrid;
class PixelImageView;

class SchedulesPage : public QWidget {
  Q_OBJECT
public:
  enum class Quantity { LogSnr, AlphaBar, P2Weight };
  /// Slider positions per unit of t, k and γ.
  static constexpr int kTimeTicks = 1000;
  static constexpr int kKTicks = 10;
  static constexpr int kGammaTicks = 20;
  /// Times of the Figure 2 strip.
  static QList<double> stripTimes();

  explicit SchedulesPage(QWidget* parent = nullptr);
  ~SchedulesPage() override;

  /// The schedules compared, both with the page's T (0 = continuous time).
  t2i::diffusion::ScheduleSpec spec(t2i::diffusion::ScheduleKind kind) const;
  double t() const;
  void setT(double t);
  double p2K() const;
  double p2Gamma() const;
  void setP2(double k, double gamma);
  /// Loads an image file as x₀; false when it cannot be read.
  bool openImage(const QString& path);
  QImage sourceImage() const { return source_; }
  /// The demo images offered in the picker (filled once the demo set is ready).
  int demoImageCount() const { return static_cast<int>(demoFiles_.size()); }

  /// What a plot shows for a schedule, point by point.
  QVector<QPointF> plotted(Quantity quantity, t2i::diffusion::ScheduleKind kind) const;
  PixelImageView* view(t2i::diffusion::ScheduleKind kind) const;
  LabelledImageGrid* strip() const { return strip_; }
  QSlider* timeSlider() const { return time_; }

Q_SIGNALS:
  /// The demo images are listed (or could not be made: the picker then offers files only).
  void demoImagesReady(int count);

protected:
  void showEvent(QShowEvent* event) override;

private:
  QWidget* createImages();
  QLayout* createImageControls(QWidget* area);
  void connectImageControls();
  QWidget* createPlots();
  void prepareDemoImages();
  void selectDemoImage(int index);
  /// The file as the 64×64 model input, or a null image with the reason shown as the caption.
  QImage squareImageOrMessage(const QString& path);
  void setImage(const QImage& square, const QString& caption);
  void updateCurves();
  void updateNoised();
  void updateStrip();
  void updateLabels();
  QImage noised(t2i::diffusion::ScheduleKind kind, double t) const;

  JobRunner demoJob_;
  QComboBox* picker_;
  QToolButton* openFile_;
  QLabel* caption_;
  QComboBox* steps_;
  QSpinBox* seed_;
  QSlider* time_;
  QLabel* timeLabel_;
  PixelImageView* linearView_;
  PixelImageView* cosineView_;
  LabelledImageGrid* strip_;
  CurvePlot* logSnrPlot_;
  CurvePlot* alphaBarPlot_;
  CurvePlot* p2Plot_;
  QSlider* k_;
  QSlider* gamma_;
  QLabel* kLabel_;
  QLabel* gammaLabel_;

  QImage source_;
  std::vector<float> pixels_;  ///< source_ as HWC floats in [−1, 1]
  QStringList demoFiles_;
  QStringList demoCaptions_;
  bool demoRequested_ = false;
};

} // namespace t2i::ui
