// The Generate page's look inside a generation, as two tabs beside its filmstrip. "Attention":
// the prompt's words as chips; a chip lays its cross-attention map over the image at the
// scrubber's step (or over all steps), "all words" shows them as small multiples in one colour
// scale; the half of guidance, the normalisation, resolution/layer/head filters, a legend and
// where attention went besides the words (</s>, the null key, padding) as numbers. "Guidance":
// x̂₀ under c, under ∅, guided and Δ at the scrubber's step, and ‖Δ‖, cos(ε_c, ε_u) and the
// clipped share over the steps with the step marked. Rendering runs on InsideRenderer's worker.
#pragma once

#include "sampling/inside_renderer.h"
#include "t2i/sample.h"

#include <QObject>

#include <optional>

class QButtonGroup;
class QComboBox;
class QHBoxLayout;
class QLabel;
class QSlider;
class QStackedWidget;
class QWidget;

namespace t2i::ui {

class CurvePlot;
class LabelledImageGrid;
class PixelImageView;

class InsidePanels : public QObject {
  Q_OBJECT
public:
  /// The tabs are made as children of `parent` (the page adds them where it likes).
  explicit InsidePanels(QWidget* parent);

  QWidget* attentionTab() const { return attentionTab_; }
  QWidget* anatomyTab() const { return anatomyTab_; }

  /// A generation finished: what its probes recorded (empty when nothing was asked) and its
  /// final images; `step` is the scrubber's.
  void setGeneration(const t2i::sample::AttentionMaps& maps, const t2i::sample::GuidanceAnatomy& anatomy,
                     const QVector<QImage>& images, int step);
  /// Nothing recorded belongs to the images shown.
  void clear();
  void showStep(int step);
  void selectImage(int index);

  /// The query the controls describe now.
  InsideQuery query() const;
  /// The controls as an image's metadata records them (its look_inside and freeze_noise are the
  /// page's, left false here).
  t2i::sample::ImageInspection inspection() const;
  /// Sets the controls to `inspection`. The word and the filters that the shown generation does
  /// not have wait for one that has them (an image just opened has no recordings yet).
  void restore(const t2i::sample::ImageInspection& inspection);
  /// The last view shown, and the renderer making them (for tests).
  const InsideView& shownView() const { return shown_; }
  InsideRenderer* renderer() const { return renderer_; }

private:
  QWidget* createAttentionTab(QWidget* parent);
  QWidget* createAttentionControls(QWidget* parent);
  QWidget* createAnatomyTab(QWidget* parent);
  void fillChips();
  void fillFilters();
  void applyWanted();
  void plotSeries();
  void requestRender();
  void showView(const InsideView& view);
  void showAttention(const InsideView& view);
  void showAnatomy(const InsideView& view);

  InsideRenderer* renderer_;
  t2i::sample::AttentionMaps maps_;
  t2i::sample::GuidanceAnatomy anatomy_;
  QVector<QImage> images_;
  int image_ = 0;
  int step_ = 0;
  InsideView shown_;
  /// What restore() asked for, applied again whenever new recordings fill the chips and filters.
  std::optional<t2i::sample::ImageInspection> wanted_;

  QWidget* attentionTab_;
  QStackedWidget* attentionStack_;
  QHBoxLayout* chipRow_;
  QButtonGroup* chips_;
  int allWordsId_ = 0;  ///< the "all words" chip's id: one past the words'
  QComboBox* stepMode_;
  QComboBox* half_;
  QComboBox* normalisation_;
  QComboBox* resolution_;
  QComboBox* layer_;
  QComboBox* head_;
  QSlider* opacity_;
  QLabel* legendBar_;
  QLabel* legendText_;
  QLabel* shares_;
  QStackedWidget* overlayStack_;
  PixelImageView* overlay_;
  LabelledImageGrid* grid_;

  QWidget* anatomyTab_;
  QStackedWidget* anatomyStack_;
  QVector<PixelImageView*> anatomyViews_;
  CurvePlot* deltaPlot_;
  CurvePlot* cosinePlot_;
  CurvePlot* clippedPlot_;
};

} // namespace t2i::ui
