#include "inside_renderer.h"

#include "image_conversion.h"

#include <QCoreApplication>
#include <QThread>

#include <algorithm>
#include <exception>

namespace t2i::ui {
namespace {

using t2i::sample::Heatmap;

// The legend bar's size in image pixels (its view stretches it).
constexpr int kLegendWidth = 128;
constexpr int kLegendHeight = 8;

/// The colour scale as heat_overlay paints it, so the legend is the overlay's own colours.
QImage legendBar(float legendMax) {
  Heatmap ramp;
  ramp.width = kLegendWidth;
  ramp.height = kLegendHeight;
  for (int y = 0; y < kLegendHeight; ++y)
    for (int x = 0; x < kLegendWidth; ++x) ramp.values.push_back(legendMax * static_cast<float>(x) / (kLegendWidth - 1));
  ramp.max = legendMax;
  t2i::Image black;
  black.width = kLegendWidth;
  black.height = kLegendHeight;
  black.rgb.assign(static_cast<std::size_t>(kLegendWidth) * kLegendHeight * 3, 0);
  return toQImage(t2i::sample::heat_overlay(black, ramp, 1.0, legendMax));
}

void renderAttention(const InsideQuery& query, const t2i::sample::AttentionMaps& maps, const QImage& base, InsideView& view) {
  const std::vector<t2i::sample::AttentionWord> words = maps.words(query.selection.image);
  view.shares = maps.shares(query.selection);
  if (query.word == InsideQuery::kNoWord) return;
  std::vector<Heatmap> heatmaps;
  for (int i = 0; i < static_cast<int>(words.size()); ++i) {
    if (query.word != InsideQuery::kAllWords && i != query.word) continue;
    const auto& word = words[static_cast<std::size_t>(i)];
    heatmaps.push_back(maps.map(query.selection, word.pieces, query.normalisation));
    view.words << QString::fromStdString(word.text);
  }
  // One scale for every map shown, so the small multiples compare words by colour.
  float top = 0;
  for (const Heatmap& heatmap : heatmaps) top = std::max(top, heatmap.max);
  view.legendMax = std::max(top, 1e-6f);
  const t2i::Image image = fromQImage(base);
  for (const Heatmap& heatmap : heatmaps)
    view.overlays << toQImage(t2i::sample::heat_overlay(image, heatmap, query.opacity, view.legendMax));
  view.legend = legendBar(view.legendMax);
}

void renderAnatomy(const InsideQuery& query, const t2i::sample::GuidanceAnatomy& anatomy, InsideView& view) {
  const t2i::sample::GuidanceRow row = anatomy.row(query.selection.image, query.anatomyStep);
  view.anatomyRow = {toQImage(row.conditional), toQImage(row.unconditional), toQImage(row.guided), toQImage(row.delta)};
}

} // namespace

InsideView renderInside(const InsideQuery& query, const t2i::sample::AttentionMaps& maps,
                        const t2i::sample::GuidanceAnatomy& anatomy, const QImage& base) {
  InsideView view;
  view.query = query;
  view.renderedOnGuiThread = QCoreApplication::instance() != nullptr &&
                             QThread::currentThread() == QCoreApplication::instance()->thread();
  try {
    if (!maps.empty()) renderAttention(query, maps, base, view);
    if (!anatomy.empty() && query.anatomyStep >= 1 && query.anatomyStep <= anatomy.steps()) renderAnatomy(query, anatomy, view);
  } catch (const std::exception& e) {
    view.error = QString::fromUtf8(e.what());
  }
  return view;
}

InsideRenderer::InsideRenderer(QObject* parent) : QObject(parent) {
  connect(&runner_, &JobRunner::finished, this, &InsideRenderer::startPending);
  connect(&runner_, &JobRunner::failed, this, &InsideRenderer::startPending);
}

void InsideRenderer::setGeneration(const t2i::sample::AttentionMaps& maps, const t2i::sample::GuidanceAnatomy& anatomy,
                                   const QVector<QImage>& images) {
  maps_ = maps;
  anatomy_ = anatomy;
  images_ = images;
  ++generation_;
  pending_.reset();
}

void InsideRenderer::request(const InsideQuery& query) {
  pending_ = query;
  if (!runner_.isRunning()) startPending();
}

bool InsideRenderer::isBusy() const { return runner_.isRunning() || pending_.has_value(); }

void InsideRenderer::startPending() {
  if (!pending_ || runner_.isRunning()) return;
  const InsideQuery query = *pending_;
  pending_.reset();
  runner_.start(QStringLiteral("inside"), [this, query, maps = maps_, anatomy = anatomy_, generation = generation_,
                                           base = images_.value(query.selection.image)](const job::Context&) {
    InsideView view = renderInside(query, maps, anatomy, base);
    QMetaObject::invokeMethod(
        this,
        [this, view, generation] {
          if (generation == generation_) Q_EMIT rendered(view);
        },
        Qt::QueuedConnection);
  });
}

} // namespace t2i::ui
