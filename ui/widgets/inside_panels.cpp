#include "inside_panels.h"

#include "widgets/curve_plot.h"
#include "widgets/labelled_image_grid.h"
#include "widgets/pixel_image_view.h"

#include <QAbstractButton>
#include <QButtonGroup>
#include <QComboBox>
#include <QFormLayout>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QScrollArea>
#include <QSlider>
#include <QStackedWidget>
#include <QStyle>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <utility>

namespace t2i::ui {
namespace {

// The overlay's and the anatomy's images: whole multiples of the demo model's 32 pixels.
constexpr int kOverlayEdge = 128;
constexpr int kAnatomyEdge = 64;
constexpr int kDefaultOpacityPercent = 60;
constexpr int kComboCharacters = 8;
constexpr int kPlotMinimumWidth = 140;
// The legend bar's size on screen.
constexpr QSize kLegendSize(128, 10);

/// Fills `tab` with a stack showing `text` until a page with something to show is added and chosen.
QStackedWidget* placeholderStack(QWidget* tab, const QString& text) {
  auto* label = new QLabel(text, tab);
  label->setWordWrap(true);
  label->setAlignment(Qt::AlignCenter);
  label->setEnabled(false);
  auto* stack = new QStackedWidget(tab);
  stack->addWidget(label);
  auto* layout = new QVBoxLayout(tab);
  layout->setContentsMargins(4, 4, 4, 4);
  layout->addWidget(stack);
  return stack;
}

QComboBox* combo(const char* name, const QString& tip, QWidget* parent) {
  auto* box = new QComboBox(parent);
  box->setObjectName(QString::fromLatin1(name));
  box->setToolTip(tip);
  // Narrow when the page is: the Generate page must fit a 1280×720 screen.
  box->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  box->setMinimumContentsLength(kComboCharacters);
  return box;
}

/// A tab that asks for no more height than it needs: a QTabWidget is as tall as its tallest
/// tab's wish (by size hint, or by height for width when a wrapped label is inside), and the
/// small multiples or the plots would take that height from the live views.
class CompactTab : public QWidget {
public:
  using QWidget::QWidget;
  QSize sizeHint() const override { return minimumSizeHint(); }
  bool hasHeightForWidth() const override { return false; }
  int heightForWidth(int) const override { return -1; }
};

QString percent(double share) { return QString::number(100.0 * share, 'f', 1) + QLatin1Char('%'); }

} // namespace

InsidePanels::InsidePanels(QWidget* parent) : QObject(parent), renderer_(new InsideRenderer(this)) {
  setObjectName(QStringLiteral("insidePanels"));
  attentionTab_ = createAttentionTab(parent);
  anatomyTab_ = createAnatomyTab(parent);
  connect(renderer_, &InsideRenderer::rendered, this, &InsidePanels::showView);
  clear();
}

QWidget* InsidePanels::createAttentionTab(QWidget* parent) {
  auto* tab = new CompactTab(parent);
  tab->setObjectName(QStringLiteral("attentionTab"));
  attentionStack_ = placeholderStack(
      tab, tr("Tick “Look inside” and generate to see where each word of the prompt was attended to."));

  overlay_ = new PixelImageView(tab);
  overlay_->setObjectName(QStringLiteral("attentionOverlay"));
  overlay_->setPreferredEdge(kOverlayEdge);
  grid_ = new LabelledImageGrid(tab);
  grid_->setObjectName(QStringLiteral("attentionGrid"));
  overlayStack_ = new QStackedWidget(tab);
  overlayStack_->addWidget(overlay_);
  overlayStack_->addWidget(grid_);

  auto* content = new QWidget(tab);
  auto* row = new QHBoxLayout(content);
  row->setContentsMargins(0, 0, 0, 0);
  row->addWidget(createAttentionControls(content));
  row->addWidget(overlayStack_, 1);
  attentionStack_->addWidget(content);
  return tab;
}

QWidget* InsidePanels::createAttentionControls(QWidget* parent) {
  auto* panel = new QWidget(parent);
  auto* chipStrip = new QWidget(panel);
  chipRow_ = new QHBoxLayout(chipStrip);
  chipRow_->setContentsMargins(0, 0, 0, 0);
  chipRow_->setSpacing(3);
  chipRow_->addStretch(1);
  auto* chipScroll = new QScrollArea(panel);
  chipScroll->setObjectName(QStringLiteral("wordChips"));
  chipScroll->setWidget(chipStrip);
  chipScroll->setWidgetResizable(true);
  chipScroll->setFrameShape(QFrame::NoFrame);
  chipScroll->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  chipScroll->setFixedHeight(QToolButton(panel).sizeHint().height() +
                             chipScroll->style()->pixelMetric(QStyle::PM_ScrollBarExtent) + 2);
  chips_ = new QButtonGroup(this);
  chips_->setExclusive(true);
  connect(chips_, &QButtonGroup::idClicked, this, [this] { requestRender(); });

  stepMode_ = combo("attentionStepMode", tr("The step the scrubber shows, or every step summed (DAAM)"), panel);
  stepMode_->addItems({tr("this step"), tr("all steps")});
  half_ = combo("attentionHalf", tr("Which half of classifier-free guidance attended"), panel);
  half_->addItems({tr("c (prompt)"), tr("∅ (no prompt)")});
  normalisation_ = combo("attentionNormalisation",
                         tr("Global: the share of each pixel's attention the word gets (words compare); "
                            "per word: each map stretched to its own top (shows shape, hides strength)"),
                         panel);
  normalisation_->addItems({tr("global share"), tr("per word")});
  resolution_ = combo("attentionResolution", tr("Feature-map resolution of the cross-attention layers"), panel);
  layer_ = combo("attentionLayer", tr("One cross-attention layer, in the U-Net's pass order"), panel);
  head_ = combo("attentionHead", tr("One attention head, or their mean"), panel);
  opacity_ = new QSlider(Qt::Horizontal, panel);
  opacity_->setObjectName(QStringLiteral("attentionOpacity"));
  opacity_->setRange(0, 100);
  opacity_->setValue(kDefaultOpacityPercent);
  opacity_->setToolTip(tr("How strongly the map covers the image"));
  for (QComboBox* box : {stepMode_, half_, normalisation_, resolution_, layer_, head_})
    connect(box, &QComboBox::currentIndexChanged, this, &InsidePanels::requestRender);
  connect(opacity_, &QSlider::valueChanged, this, &InsidePanels::requestRender);

  legendBar_ = new QLabel(panel);
  legendBar_->setObjectName(QStringLiteral("attentionLegendBar"));
  legendBar_->setFixedSize(kLegendSize);
  legendBar_->setScaledContents(true);
  legendText_ = new QLabel(panel);
  legendText_->setObjectName(QStringLiteral("attentionLegend"));
  shares_ = new QLabel(panel);
  shares_->setObjectName(QStringLiteral("attentionShares"));
  shares_->setWordWrap(true);
  shares_->setToolTip(tr("Where all the selected attention went: the prompt's words, the end token </s>, the "
                         "learned null key and padding (masked, so 0 unless the mask is broken)"));

  auto* filters = new QHBoxLayout;
  filters->addWidget(resolution_);
  filters->addWidget(layer_);
  filters->addWidget(head_);
  auto* legend = new QHBoxLayout;
  legend->addWidget(new QLabel(QStringLiteral("0"), panel));
  legend->addWidget(legendBar_);
  legend->addWidget(legendText_, 1);

  auto* form = new QFormLayout;
  form->setContentsMargins(0, 0, 0, 0);
  form->setVerticalSpacing(2);
  auto* when = new QHBoxLayout;
  when->addWidget(stepMode_);
  when->addWidget(half_);
  form->addRow(tr("Map"), when);
  auto* scale = new QHBoxLayout;
  scale->addWidget(normalisation_);
  scale->addWidget(new QLabel(tr("opacity"), panel));
  scale->addWidget(opacity_, 1);
  form->addRow(tr("Scale"), scale);
  form->addRow(tr("Layers"), filters);
  form->addRow(tr("Legend"), legend);

  auto* column = new QVBoxLayout(panel);
  column->setContentsMargins(0, 0, 0, 0);
  column->setSpacing(2);
  column->addWidget(chipScroll);
  column->addLayout(form);
  column->addWidget(shares_);
  column->addStretch(1);
  return panel;
}

QWidget* InsidePanels::createAnatomyTab(QWidget* parent) {
  auto* tab = new CompactTab(parent);
  tab->setObjectName(QStringLiteral("anatomyTab"));
  anatomyStack_ = placeholderStack(tab, tr("Tick “Look inside” and generate to see what each half of "
                                           "classifier-free guidance predicted at every step."));

  auto* content = new QWidget(tab);
  auto* images = new QGridLayout;
  images->setSpacing(2);
  const QStringList names = {QStringLiteral("anatomyConditional"), QStringLiteral("anatomyUnconditional"),
                             QStringLiteral("anatomyGuided"), QStringLiteral("anatomyDelta")};
  for (int i = 0; i < names.size(); ++i) {
    auto* view = new PixelImageView(content);
    view->setObjectName(names.at(i));
    view->setPreferredEdge(kAnatomyEdge);
    images->addWidget(view, i / 2, i % 2);
    anatomyViews_ << view;
  }
  anatomyViews_[0]->setToolTip(tr("x̂₀ predicted from ε(z, c): the prompt alone"));
  anatomyViews_[1]->setToolTip(tr("x̂₀ predicted from ε(z, ∅): no prompt"));
  anatomyViews_[2]->setToolTip(tr("x̂₀ from the guided ε̃ = w·ε(z, c) + (1 − w)·ε(z, ∅), thresholded as sampled"));
  anatomyViews_[3]->setToolTip(tr("Δ = ε(z, c) − ε(z, ∅): mid-grey is 0"));

  deltaPlot_ = new CurvePlot(tr("‖Δ‖"), tr("RMS"), content);
  deltaPlot_->setObjectName(QStringLiteral("deltaPlot"));
  deltaPlot_->addCurve(tr("ε_c − ε_u"), QColor(200, 40, 40));
  cosinePlot_ = new CurvePlot(tr("cos(ε_c, ε_u)"), tr("cosine"), content);
  cosinePlot_->setObjectName(QStringLiteral("cosinePlot"));
  cosinePlot_->addCurve(tr("cos"), QColor(40, 90, 200));
  clippedPlot_ = new CurvePlot(tr("Clipped"), tr("share"), content);
  clippedPlot_->setObjectName(QStringLiteral("clippedPlot"));
  clippedPlot_->addCurve(tr("x̂₀"), QColor(40, 140, 60));
  // Three narrow charts: few ticks, and no minimum width from their headings, which are wider
  // than the page leaves them on a 1280×720 screen.
  for (CurvePlot* plot : {deltaPlot_, cosinePlot_, clippedPlot_}) {
    plot->setXTickCount(2);
    plot->setMinimumWidth(kPlotMinimumWidth);
  }

  auto* row = new QHBoxLayout(content);
  row->setContentsMargins(0, 0, 0, 0);
  row->addLayout(images);
  row->addWidget(deltaPlot_, 1);
  row->addWidget(cosinePlot_, 1);
  row->addWidget(clippedPlot_, 1);
  anatomyStack_->addWidget(content);
  return tab;
}

void InsidePanels::setGeneration(const t2i::sample::AttentionMaps& maps, const t2i::sample::GuidanceAnatomy& anatomy,
                                 const QVector<QImage>& images, int step) {
  maps_ = maps;
  anatomy_ = anatomy;
  images_ = images;
  image_ = std::clamp(image_, 0, std::max(0, static_cast<int>(images.size()) - 1));
  step_ = step;
  shown_ = {};
  renderer_->setGeneration(maps, anatomy, images);
  attentionStack_->setCurrentIndex(maps.empty() ? 0 : 1);
  anatomyStack_->setCurrentIndex(anatomy.empty() ? 0 : 1);
  fillChips();
  fillFilters();
  applyWanted();
  plotSeries();
  requestRender();
}

void InsidePanels::clear() { setGeneration({}, {}, {}, 0); }

void InsidePanels::showStep(int step) {
  step_ = step;
  const double t = anatomy_.empty() || step < 1 || step > anatomy_.steps() ? 0.0 : anatomy_.series(image_).at(static_cast<std::size_t>(step - 1)).t;
  for (CurvePlot* plot : {deltaPlot_, cosinePlot_, clippedPlot_}) plot->setMarker(t);
  requestRender();
}

void InsidePanels::selectImage(int index) {
  if (index < 0 || index >= images_.size() || index == image_) return;
  image_ = index;
  fillChips();
  plotSeries();
  requestRender();
}

void InsidePanels::fillChips() {
  for (QAbstractButton* chip : chips_->buttons()) {
    chips_->removeButton(chip);
    delete chip;
  }
  if (maps_.empty() || image_ >= maps_.images()) return;
  const auto addChip = [this](const QString& text, int id, const QString& name) {
    auto* chip = new QToolButton(chipRow_->parentWidget());
    chip->setText(text);
    chip->setObjectName(name);
    chip->setCheckable(true);
    chips_->addButton(chip, id);
    chipRow_->insertWidget(chipRow_->count() - 1, chip);  // before the stretch
  };
  const std::vector<t2i::sample::AttentionWord> words = maps_.words(image_);
  for (int i = 0; i < static_cast<int>(words.size()); ++i) {
    addChip(QString::fromStdString(words[static_cast<std::size_t>(i)].text), i, QStringLiteral("chip%1").arg(i));
    chips_->button(i)->setToolTip(tr("Where “%1” was attended to").arg(chips_->button(i)->text()));
  }
  allWordsId_ = static_cast<int>(words.size());  // QButtonGroup's ids must not be negative
  addChip(tr("all words"), allWordsId_, QStringLiteral("allWordsChip"));
  chips_->button(allWordsId_)->setToolTip(tr("Every word's map side by side, in one colour scale"));
}

void InsidePanels::fillFilters() {
  const QSignalBlocker blockResolution(resolution_), blockLayer(layer_), blockHead(head_), blockHalf(half_);
  resolution_->clear();
  layer_->clear();
  head_->clear();
  resolution_->addItem(tr("all sizes"));
  for (const int side : maps_.resolutions()) resolution_->addItem(QStringLiteral("%1×%1").arg(side), side);
  layer_->addItem(tr("all layers"));
  int heads = 0;
  for (int i = 0; i < static_cast<int>(maps_.layers().size()); ++i) {
    const t2i::sample::AttentionLayer& layer = maps_.layers()[static_cast<std::size_t>(i)];
    layer_->addItem(tr("layer %1 (%2×%2)").arg(i + 1).arg(layer.side), i);
    heads = std::max(heads, layer.heads);
  }
  head_->addItem(tr("all heads"));
  for (int h = 0; h < heads; ++h) head_->addItem(tr("head %1").arg(h + 1), h);
  const bool bothHalves = maps_.empty() || maps_.has_unconditional();
  if (!bothHalves) half_->setCurrentIndex(0);
  half_->setEnabled(bothHalves);
  half_->setToolTip(bothHalves ? tr("Which half of classifier-free guidance attended")
                               : tr("Guidance was 1: only the conditional half ran, so there is no unconditional "
                                    "attention"));
}

void InsidePanels::plotSeries() {
  QVector<double> t, delta, cosine, clipped;
  if (!anatomy_.empty() && image_ < anatomy_.images())
    for (const t2i::sample::GuidanceStep& step : anatomy_.series(image_)) {
      t << step.t;
      delta << step.delta_rms;
      cosine << step.cosine;
      clipped << step.clipped;
    }
  deltaPlot_->setCurve(0, t, delta);
  cosinePlot_->setCurve(0, t, cosine);
  clippedPlot_->setCurve(0, t, clipped);
  for (CurvePlot* plot : {deltaPlot_, cosinePlot_, clippedPlot_}) plot->rescale();
}

namespace {

// Selects the item of `box` holding `value`, or the first ("all …") when there is none.
void selectFilter(QComboBox* box, const std::optional<int>& value) {
  const int index = value ? box->findData(*value) : -1;
  box->setCurrentIndex(std::max(index, 0));
}

} // namespace

void InsidePanels::restore(const t2i::sample::ImageInspection& inspection) {
  {
    const QSignalBlocker blockStep(stepMode_), blockHalf(half_), blockNormalisation(normalisation_),
        blockOpacity(opacity_);
    stepMode_->setCurrentIndex(inspection.attention.step ? 0 : 1);
    half_->setCurrentIndex(inspection.attention.conditional ? 0 : 1);
    normalisation_->setCurrentIndex(inspection.normalisation == t2i::sample::AttentionNormalisation::Global ? 0 : 1);
    opacity_->setValue(static_cast<int>(std::lround(inspection.opacity * 100)));
  }
  wanted_ = inspection;
  applyWanted();
  requestRender();
}

void InsidePanels::applyWanted() {
  if (!wanted_ || maps_.empty() || image_ >= maps_.images()) return;
  const t2i::sample::ImageInspection wanted = *std::exchange(wanted_, std::nullopt);
  const QSignalBlocker blockResolution(resolution_), blockLayer(layer_), blockHead(head_);
  selectFilter(resolution_, wanted.attention.resolution);
  selectFilter(layer_, wanted.attention.layer);
  selectFilter(head_, wanted.attention.head);
  int chip = -1;
  if (wanted.words == t2i::sample::ImageInspection::Words::All) chip = allWordsId_;
  const std::vector<t2i::sample::AttentionWord> words = maps_.words(image_);
  if (wanted.words == t2i::sample::ImageInspection::Words::One)
    for (std::size_t i = 0; i < words.size(); ++i)
      if (chip < 0 && words[i].text == wanted.word) chip = static_cast<int>(i);
  if (chip >= 0) chips_->button(chip)->setChecked(true);
}

t2i::sample::ImageInspection InsidePanels::inspection() const {
  // Restored but not shown yet (no recordings since): what was restored stands.
  if (wanted_) return *wanted_;
  const InsideQuery q = query();
  t2i::sample::ImageInspection inspection;
  inspection.attention = q.selection;
  inspection.attention.image = 0;
  using Words = t2i::sample::ImageInspection::Words;
  inspection.words = q.word == InsideQuery::kNoWord ? Words::None : q.word == InsideQuery::kAllWords ? Words::All : Words::One;
  if (inspection.words == Words::One) inspection.word = maps_.words(image_).at(static_cast<std::size_t>(q.word)).text;
  inspection.normalisation = q.normalisation;
  inspection.opacity = q.opacity;
  return inspection;
}

InsideQuery InsidePanels::query() const {
  InsideQuery q;
  q.selection.image = image_;
  if (stepMode_->currentIndex() == 0 && step_ >= 1) q.selection.step = step_;
  if (resolution_->currentData().isValid()) q.selection.resolution = resolution_->currentData().toInt();
  if (layer_->currentData().isValid()) q.selection.layer = layer_->currentData().toInt();
  if (head_->currentData().isValid()) q.selection.head = head_->currentData().toInt();
  q.selection.conditional = half_->currentIndex() == 0;
  const int chip = chips_->checkedId();
  q.word = chip < 0 ? InsideQuery::kNoWord : chip == allWordsId_ ? InsideQuery::kAllWords : chip;
  q.normalisation = normalisation_->currentIndex() == 0 ? t2i::sample::AttentionNormalisation::Global
                                                        : t2i::sample::AttentionNormalisation::PerToken;
  q.opacity = opacity_->value() / 100.0;
  q.anatomyStep = step_;
  return q;
}

void InsidePanels::requestRender() {
  if (maps_.empty() && anatomy_.empty()) return;
  renderer_->request(query());
}

void InsidePanels::showView(const InsideView& view) {
  shown_ = view;
  showAttention(view);
  showAnatomy(view);
}

void InsidePanels::showAttention(const InsideView& view) {
  const t2i::sample::AttentionShares& s = view.shares;
  shares_->setStyleSheet(view.error.isEmpty() ? QString() : QStringLiteral("color: #b00020;"));
  shares_->setText(view.error.isEmpty() ? tr("Attention went to: words %1 · </s> %2 · null key %3 · padding %4")
                                              .arg(percent(s.words), percent(s.end_token), percent(s.null_key),
                                                   percent(s.padding))
                                        : view.error);
  const QString where = view.query.selection.step ? tr("step %1").arg(*view.query.selection.step) : tr("all steps");
  legendBar_->setPixmap(QPixmap::fromImage(view.legend));
  legendText_->setText(view.overlays.isEmpty() ? QString()
                                               : view.query.normalisation == t2i::sample::AttentionNormalisation::Global
                                                   ? tr("%1 of a pixel's attention").arg(view.legendMax, 0, 'g', 3)
                                                   : tr("%1 (each map's own top)").arg(view.legendMax, 0, 'g', 3));
  if (view.query.word == InsideQuery::kAllWords) {
    grid_->setLabels(tr("Every word, %1, one colour scale").arg(where), view.words, {QString()});
    for (int i = 0; i < view.overlays.size(); ++i) grid_->setImage(0, i, view.overlays.at(i));
    overlayStack_->setCurrentWidget(grid_);
    return;
  }
  overlayStack_->setCurrentWidget(overlay_);
  if (view.overlays.isEmpty()) {
    overlay_->setImage(images_.value(view.query.selection.image));
    overlay_->setCaption(tr("click a word to see its map"));
  } else {
    overlay_->setImage(view.overlays.first());
    overlay_->setCaption(tr("“%1” · %2").arg(view.words.value(0), where));
  }
}

void InsidePanels::showAnatomy(const InsideView& view) {
  if (view.anatomyRow.size() != anatomyViews_.size()) return;
  const QStringList captions = {tr("x̂₀ | c"), tr("x̂₀ | ∅"), tr("x̂₀ guided"),
                                tr("Δ ±%1").arg(anatomy_.delta_scale(view.query.selection.image), 0, 'g', 2)};
  for (int i = 0; i < anatomyViews_.size(); ++i) {
    anatomyViews_[i]->setImage(view.anatomyRow.at(i));
    anatomyViews_[i]->setCaption(captions.at(i));
  }
}

} // namespace t2i::ui
