// What the Compare page runs and exports, without widgets: the form's prompt, guidance scales,
// seeds and checkpoints become one sampling task per grid column and the grid's labels; a finished
// grid's PNG metadata is the core's (its top-left image's settings plus the grid's rows and
// columns), and a PNG's metadata fills the form back in.
#pragma once

#include "sampling/sampling_job.h"

#include "t2i/sample.h"

#include <QCoreApplication>
#include <QImage>
#include <QList>
#include <QString>
#include <QStringList>
#include <QVector>

#include <cstdint>
#include <optional>
#include <variant>

namespace t2i::ui {

inline constexpr int kMaxCompareScales = 12;
inline constexpr int kMaxCompareSeeds = 8;
inline constexpr double kMaxCompareScale = 30.0;

/// "5, 8" → {5, 8}; nullopt when a value is not a number in [0, 30] or the list is empty or too long.
std::optional<QList<double>> parseScales(const QString& text);
/// "0, 1 2" → {0, 1, 2}; nullopt when a value is not a non-negative integer or the list is empty or too long.
std::optional<QList<std::uint64_t>> parseSeeds(const QString& text);

/// What the Compare page compares.
enum class CompareMode {
  ScalesBySeeds,  ///< guidance scales (columns) × seeds (rows), one task per column
  Trajectory,     ///< one frozen trajectory: scales (rows) × steps (columns), one batch
  WordSwap,       ///< prompt A against A with one word swapped, same noise
};

/// The Compare page's controls as values.
struct ComparisonForm {
  CompareMode mode = CompareMode::ScalesBySeeds;
  QString prompt;
  QString scales;        ///< as typed, e.g. "5, 8"
  QString seeds;         ///< as typed, e.g. "0, 1"
  int steps = 50;
  QString sampler;       ///< the core's name, e.g. "ddim"
  QString samplerLabel;  ///< as the combo box shows it, for the grid's title
  QString thresholding;
  QStringList checkpoints;  ///< one, or two to compare models
  QString gridSteps;        ///< Trajectory: the steps shown, as typed ("10, 20"); empty = 5 evenly spaced
  QString swap;             ///< WordSwap: "red=blue"
  double inject = 0;        ///< WordSwap: the fraction of the steps B takes A's cross-attention
};

/// A comparison ready to run: column c is tasks[c] (one image per seed), row r is seeds[r].
class Comparison {
  Q_DECLARE_TR_FUNCTIONS(Comparison)
public:
  /// The comparison `form` asks for, or why it cannot run (a sentence for the user).
  static std::variant<Comparison, QString> plan(const ComparisonForm& form);

  const QVector<SamplingTask>& tasks() const { return tasks_; }
  int rows() const { return static_cast<int>(seeds_.size()); }
  int stepsPerTask() const { return steps_; }
  QString title() const { return title_; }
  QStringList columnLabels() const { return columns_; }
  QStringList rowLabels() const;

  /// The exported grid's metadata: the top-left image's settings, made by `topLeftModel` (the
  /// first column's model), with every row's seed and every column's guidance scale and, when
  /// the columns come from two checkpoints, each column's checkpoint.
  t2i::sample::ImageMetadata gridMetadata(const t2i::sample::ModelInfo& topLeftModel) const;

private:
  QVector<SamplingTask> tasks_;
  QList<std::uint64_t> seeds_;
  QString title_;
  QStringList columns_;
  int steps_ = 0;
  bool severalCheckpoints_ = false;
};

/// A Compare mode that runs one task on the first checkpoint (Trajectory or WordSwap), ready to
/// run: its task, the grid's labels, and which recorded steps make the columns.
class SingleTaskComparison {
  Q_DECLARE_TR_FUNCTIONS(SingleTaskComparison)
public:
  /// The comparison the form's Trajectory or WordSwap mode asks for, or why it cannot run. The
  /// first seed is used; WordSwap guides at the first scale.
  static std::variant<SingleTaskComparison, QString> plan(const ComparisonForm& form);

  CompareMode mode() const { return mode_; }
  const SamplingTask& task() const { return task_; }
  /// Trajectory: the sampling steps of the columns (the task records every step).
  const QList<int>& steps() const { return steps_; }
  QString title() const { return title_; }
  /// The title with the word maps' colour scale, its top `mapTop` (WordSwapRow::mapTop).
  QString titleWithMapScale(float mapTop) const;
  QStringList columnLabels() const { return columns_; }
  QStringList rowLabels() const { return rows_; }
  /// The exported grid's metadata: the top-left image's settings, the seed and the scales, and the
  /// trajectory's steps shown or the word swap.
  t2i::sample::ImageMetadata gridMetadata(const t2i::sample::ModelInfo& model) const;

private:
  CompareMode mode_ = CompareMode::Trajectory;
  SamplingTask task_;
  QList<int> steps_;
  QString title_;
  QStringList columns_, rows_;
};

/// The row a word swap shows: A, B, |A − B|, then the swapped word's map (over all steps, global
/// normalisation) laid over A and the new word's over B, both in one colour scale whose brightest
/// colour stands for `mapTop`, a share of the attention over the text (0 when there are no maps).
struct WordSwapRow {
  QVector<QImage> images;
  float mapTop = 0;
};
/// Made on the sampling worker: computing maps takes long.
WordSwapRow wordSwapRow(const t2i::sample::WordSwapResult& swap);

/// `current` with what `metadata` records: a Compare export restores its mode and its whole grid
/// (a trajectory's steps shown, a word swap and its injection too), any other image a one-cell grid
/// of its seed and guidance scale in the mode chosen. The checkpoints are the recorded ones.
ComparisonForm formFromMetadata(const t2i::sample::ImageMetadata& metadata, const ComparisonForm& current);

} // namespace t2i::ui
