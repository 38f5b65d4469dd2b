// Pictures of what happened inside a generation: a word's cross-attention map laid over the
// image (or every word's, as small multiples), where attention went, and the guidance anatomy's
// row of x̂₀ under c, under ∅, guided and Δ. A map over all steps reads every recorded layer of
// every step, so they are rendered on a worker thread (one JobRunner); the GUI only shows images.
#pragma once

#include "jobs/job_runner.h"

#include "t2i/attention.h"
#include "t2i/guidance_anatomy.h"

#include <QImage>
#include <QObject>
#include <QStringList>
#include <QVector>

#include <optional>

namespace t2i::ui {

/// What to render for one image of a generation.
struct InsideQuery {
  static constexpr int kNoWord = -2;    ///< no map, only where attention went
  static constexpr int kAllWords = -1;  ///< every word's map (small multiples)
  t2i::sample::AttentionSelection selection;  ///< image, step (none = all steps), filters, half
  int word = kNoWord;                         ///< index among the prompt's words, or the above
  t2i::sample::AttentionNormalisation normalisation = t2i::sample::AttentionNormalisation::Global;
  double opacity = 0.6;
  int anatomyStep = 0;                        ///< the guidance anatomy row's step; 0 = none
};

struct InsideView {
  InsideQuery query;
  QVector<QImage> overlays;  ///< the chosen word's overlay, or one per word
  QStringList words;         ///< the word of each overlay
  float legendMax = 0;       ///< the colour scale's top, shared by every overlay
  QImage legend;             ///< the colour scale from 0 (left) to legendMax (right)
  t2i::sample::AttentionShares shares;
  QVector<QImage> anatomyRow;  ///< x̂₀ under c, under ∅, guided, then Δ; empty without anatomy
  QString error;               ///< why nothing was rendered
  bool renderedOnGuiThread = false;
};

/// Renders `query` from a generation's recordings over `base` (its final image). Any thread.
InsideView renderInside(const InsideQuery& query, const t2i::sample::AttentionMaps& maps,
                        const t2i::sample::GuidanceAnatomy& anatomy, const QImage& base);

class InsideRenderer : public QObject {
  Q_OBJECT
public:
  explicit InsideRenderer(QObject* parent = nullptr);

  /// The generation to render from: its recordings and its final images.
  void setGeneration(const t2i::sample::AttentionMaps& maps, const t2i::sample::GuidanceAnatomy& anatomy,
                     const QVector<QImage>& images);
  /// Renders `query` on the worker. A query made while one renders waits, replacing any query
  /// waiting before it: dragging the scrubber renders the newest step, not every step passed.
  void request(const InsideQuery& query);
  bool isBusy() const;

Q_SIGNALS:
  void rendered(const t2i::ui::InsideView& view);

private:
  void startPending();

  t2i::sample::AttentionMaps maps_;
  t2i::sample::GuidanceAnatomy anatomy_;
  QVector<QImage> images_;
  int generation_ = 0;  ///< counts setGeneration, so a view of an earlier generation is dropped
  std::optional<InsideQuery> pending_;
  JobRunner runner_;  ///< last: cancelled and joined before what its work reads
};

} // namespace t2i::ui
