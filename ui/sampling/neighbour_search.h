// The nearest training images of one generated image (issue 26), found off the GUI thread on a
// worker named "neighbours": the checkpoint's training data located (the built-in demo dataset
// written again when the checkpoint was trained on it and its run no longer holds it), its
// neighbour index opened or built once (progress and cancel from the job runner), and the K
// closest training images returned with their captions, values and the memorisation threshold.
#pragma once

#include "jobs/job_runner.h"

#include "t2i/neighbours.h"

#include <QImage>
#include <QObject>
#include <QString>
#include <QVector>

#include <memory>
#include <mutex>

namespace t2i::ui {

struct NeighbourMatch {
  QImage image;             ///< as the training cache holds it
  std::int64_t index = 0;   ///< its position in the training split
  QString caption;
  double value = 0;         ///< similarity or distance, by the result's measure
};

struct NeighbourResult {
  QImage query;
  QString dataFolder;       ///< the prepared training data searched
  t2i::evaluate::NeighbourMeasure measure = t2i::evaluate::NeighbourMeasure::PixelL2;
  QString measureNote;      ///< why pixels were used; empty for Inception features
  double threshold = 0;     ///< the memorisation threshold of the train-to-train baseline
  bool haveThreshold = false;  ///< false for a training split of one image
  QVector<NeighbourMatch> matches;  ///< closest first
};

/// What a search asks for.
struct NeighbourQuery {
  QString checkpoint;
  QString dataFolder;       ///< empty: the data of the checkpoint's run
  QString demoCacheRoot;    ///< where the built-in demo dataset is written again when needed
  QString inceptionWeights; ///< empty: pixel ℓ2
  QImage image;
  int k = 5;
};

/// "#12 · 0.913" over the caption, for a grid column.
QString neighbourLabel(const NeighbourMatch& match);
/// The measure in words, with the note when pixels were used because Inception could not be.
QString describeMeasure(const NeighbourResult& result);
/// Whether the nearest match is closer than the memorisation threshold, said in a sentence.
QString memorisationVerdict(const NeighbourResult& result);
/// Whether the nearest match is closer than the memorisation threshold.
bool looksMemorised(const NeighbourResult& result);

class NeighbourSearch : public QObject {
  Q_OBJECT
public:
  explicit NeighbourSearch(QObject* parent = nullptr);

  /// Starts a search; false while one runs or when the query has no image or checkpoint.
  bool find(const NeighbourQuery& query);
  bool isRunning() const { return runner_.isRunning(); }
  void cancel() { runner_.cancel(); }

Q_SIGNALS:
  void status(const QString& message);
  void progress(const t2i::ui::ProgressFrame& frame);
  void found(const t2i::ui::NeighbourResult& result);
  /// The search ended (after found() or failed()); `cancelled` when Cancel was pressed.
  void finished(bool cancelled);
  void failed(const QString& message);

private:
  /// Worker side: the index of `dataFolder` for `options`, kept open between searches.
  std::shared_ptr<const t2i::evaluate::NeighbourIndex> index(const std::string& dataFolder,
                                                             const t2i::evaluate::NeighbourOptions& options,
                                                             const job::Context& job);

  std::mutex mutex_;
  NeighbourResult result_;
  bool haveResult_ = false;
  std::shared_ptr<const t2i::evaluate::NeighbourIndex> index_;  ///< worker thread only
  std::string indexKey_;                                        ///< worker thread only
  JobRunner runner_;  ///< last: destroyed (cancelled and joined) before what its job writes
};

} // namespace t2i::ui
