#include "sampling/neighbour_search.h"

#include "sampling/image_conversion.h"

#include "t2i/evaluate.h"

#include <QCoreApplication>
#include <QLocale>

namespace t2i::ui {
namespace {

QString tr(const char* text) { return QCoreApplication::translate("NeighbourSearch", text); }

QString number(double value) { return QLocale().toString(value, 'f', 3); }

} // namespace

QString neighbourLabel(const NeighbourMatch& match) {
  return QStringLiteral("#%1 · %2\n%3").arg(match.index).arg(number(match.value), match.caption);
}

QString describeMeasure(const NeighbourResult& result) {
  const QString measure = QString::fromStdString(evaluate::describe(result.measure));
  return result.measureNote.isEmpty() ? measure : measure + QStringLiteral("; ") + result.measureNote;
}

bool looksMemorised(const NeighbourResult& result) {
  return result.haveThreshold && !result.matches.isEmpty() &&
         evaluate::closer(result.measure, result.matches.front().value, result.threshold);
}

QString memorisationVerdict(const NeighbourResult& result) {
  if (result.matches.isEmpty()) return {};
  if (!result.haveThreshold) return tr("No train-to-train baseline: the training split holds one image.");
  const int percent = static_cast<int>(evaluate::kMemorisationPercentile * 100 + 0.5);
  const QString nearest = number(result.matches.front().value);
  const QString threshold = number(result.threshold);
  if (looksMemorised(result))
    return tr("Closer to training image #%1 (%2) than %3% of training images are to their own nearest (%4): "
              "this sample may copy it.")
        .arg(result.matches.front().index)
        .arg(nearest)
        .arg(percent)
        .arg(threshold);
  return tr("Not unusually close: the nearest is at %1, while %2% of training images have a nearest training image "
            "closer than %3.")
      .arg(nearest)
      .arg(percent)
      .arg(threshold);
}

NeighbourSearch::NeighbourSearch(QObject* parent) : QObject(parent) {
  connect(&runner_, &JobRunner::status, this, &NeighbourSearch::status);
  connect(&runner_, &JobRunner::progress, this, &NeighbourSearch::progress);
  connect(&runner_, &JobRunner::finished, this, [this](bool cancelled) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (haveResult_) Q_EMIT found(result_);
    }
    Q_EMIT finished(cancelled);
  });
  connect(&runner_, &JobRunner::failed, this, [this](const QString& message) {
    Q_EMIT failed(message);
    Q_EMIT finished(runner_.cancelRequested());
  });
}

bool NeighbourSearch::find(const NeighbourQuery& query) {
  if (isRunning() || query.image.isNull() || query.checkpoint.isEmpty()) return false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    haveResult_ = false;
  }
  return runner_.start(QStringLiteral("neighbours"), [this, query](const job::Context& job) {
    job.status("Finding the training data of " + query.checkpoint.toStdString());
    const std::string folder = evaluate::training_data_folder(query.checkpoint.toStdString(), query.dataFolder.toStdString(),
                                                              query.demoCacheRoot.toStdString(), job);
    if (folder.empty()) return;  // cancelled while the demo dataset was written
    evaluate::NeighbourOptions options;
    options.inception_weights = query.inceptionWeights.toStdString();
    const auto index = this->index(folder, options, job);
    if (!index) return;  // cancelled while the index was built
    const auto found = index->nearest({fromQImage(query.image)}, query.k).front();

    NeighbourResult result;
    result.query = query.image;
    result.dataFolder = QString::fromStdString(folder);
    result.measure = index->measure();
    // Why pixels were used instead of Inception features, said only to whoever asked for them.
    if (!query.inceptionWeights.isEmpty()) result.measureNote = QString::fromStdString(index->measure_note());
    result.haveThreshold = !index->train_nearest().empty();
    if (result.haveThreshold) result.threshold = evaluate::memorisation_threshold(index->measure(), index->train_nearest());
    for (const evaluate::Neighbour& n : found)
      result.matches.push_back({toQImage(index->training_image(n.index)), n.index, QString::fromStdString(n.caption), n.value});
    std::lock_guard<std::mutex> lock(mutex_);
    result_ = std::move(result);
    haveResult_ = true;
  });
}

std::shared_ptr<const evaluate::NeighbourIndex> NeighbourSearch::index(const std::string& dataFolder,
                                                                       const evaluate::NeighbourOptions& options,
                                                                       const job::Context& job) {
  const std::string key = dataFolder + '\n' + options.inception_weights;
  if (index_ && key == indexKey_) return index_;
  job.status("Opening the neighbour index of " + dataFolder + " (built once, the first time)");
  index_ = evaluate::open_or_build_neighbour_index(dataFolder, options, job);
  indexKey_ = index_ ? key : std::string();
  return index_;
}

} // namespace t2i::ui
