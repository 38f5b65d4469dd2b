// The Train page's probe gallery (t2i/probe_gallery.h): one probe (prompt, seed, guidance) at a
// chosen training step and denoising step, with two sliders to scrub both axes, an x̂₀ / x_t
// toggle, and "play", which steps through the evaluations at a fixed denoising step. The index and
// the sheets are read on worker threads; a few recent sheets stay in memory. Reading the index
// again (after an evaluation of a running run) shows the new evaluations, following the newest
// when it was shown.
#pragma once

#include "jobs/coalescing_reload.h"

#include "t2i/probe_gallery.h"

#include <QCache>
#include <QImage>
#include <QString>
#include <QWidget>

#include <optional>

class QComboBox;
class QDialog;
class QLabel;
class QPushButton;
class QRadioButton;
class QSlider;
class QTimer;

namespace t2i::ui {

class NeighbourPanel;
class PixelImageView;

/// What the gallery's reader brings from a run folder: the gallery and the memorisation curve
/// measured on its final images (either absent for a run without them).
struct ProbeRunData {
  std::optional<train::ProbeGallery> gallery;
  std::optional<train::MemorisationCurve> memorisation;
};

/// `counts` as a row of bars, one character per bin from ▁ to █ by its share of the largest, a space
/// for an empty bin: a histogram inside a line of text.
QString sparkline(const std::vector<std::int64_t>& counts);

/// The memorisation line under the gallery at training step `step`: how many probe images were
/// closer to a training image than the baseline's threshold there, the baseline's histogram, and
/// the share at every evaluation, so the curve reads at a glance. Empty when the curve has no point at `step`.
QString memorisationText(const train::MemorisationCurve& curve, std::int64_t step);

class ProbeGalleryView : public QWidget {
  Q_OBJECT
public:
  explicit ProbeGalleryView(QWidget* parent = nullptr);

  /// Reads `folder`'s gallery in the background and shows it (an empty folder clears).
  void setRunFolder(const QString& folder);
  /// Reads the index again (after an evaluation has added a sheet).
  void reload();
  const std::optional<train::ProbeGallery>& gallery() const { return gallery_; }
  const std::optional<train::MemorisationCurve>& memorisation() const { return memorisation_; }
  QString memorisationLine() const;

  int evaluation() const;  ///< index into gallery()->evaluations
  int recorded() const;    ///< index into gallery()->recorded_steps
  int probe() const;
  train::ProbeImage kind() const;
  void setEvaluation(int index);
  void setRecorded(int index);
  void setProbe(int probe);
  void setKind(train::ProbeImage kind);

  bool isPlaying() const;
  /// Playing steps through the evaluations at the shown denoising step, one per tick once its
  /// image is shown, and stops at the last; play from the last starts again at the first.
  void setPlaying(bool playing);
  /// One step of play: the next evaluation (stopping at the last).
  void advancePlay();

  /// The tile shown now, as the gallery holds it (unscaled); null until its sheet has been read.
  QImage shownTile() const { return shown_; }
  /// The shown probe's final image (x̂₀ at the last recorded step) at the shown training step;
  /// null until its sheet has been read.
  QImage finalImage() const;
  /// Opens the window of the final image's nearest training images, searched in the run's data
  /// ("Nearest training images…"); nullptr while there is no image.
  NeighbourPanel* openNeighbours();
  QString caption() const;

Q_SIGNALS:
  /// The index was read (and the controls set up for it).
  void galleryShown();
  /// The tile of the current choice is on screen.
  void tileShown();

private:
  void rebuild();
  void showCurrent();
  void loadSheet(int evaluation);
  void updateLabels();

  CoalescingReload<ProbeRunData> indexReader_;
  JobRunner* sheetReader_;
  QString folder_;
  std::optional<train::ProbeGallery> gallery_;
  std::optional<train::MemorisationCurve> memorisation_;
  QCache<qint64, Image> sheets_;  ///< by training step
  QImage shown_;

  QComboBox* probeBox_;
  QSlider* training_;
  QLabel* trainingLabel_;
  QSlider* denoising_;
  QLabel* denoisingLabel_;
  QRadioButton* estimate_;
  QRadioButton* noisy_;
  QPushButton* play_;
  QTimer* playTimer_;
  PixelImageView* image_;
  QLabel* note_;
  QLabel* memorisationLabel_;
  QPushButton* neighbours_;
  QDialog* neighboursWindow_ = nullptr;
  NeighbourPanel* neighbourPanel_ = nullptr;
};

} // namespace t2i::ui
