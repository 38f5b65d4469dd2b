// A strip of evenly spaced denoising steps, one column per step and one row per kind of image
// (x_t and the predicted x₀): the paper's Figure 1, backward row. Columns fill in as the sampler
// reaches their step; clicking a column asks to show that step. A cascade's stages each get their
// share of the columns under a heading of their own, and steps count within their stage.
#pragma once

#include <QImage>
#include <QList>
#include <QStringList>
#include <QVector>
#include <QWidget>

class QGridLayout;
class QLabel;

namespace t2i::ui {

class PixelImageView;

class Filmstrip : public QWidget {
  Q_OBJECT
public:
  /// Columns a strip shows at most.
  static constexpr int kMaxFrames = 10;

  /// `rowTitles` names the rows, e.g. {"x_t", "predicted x₀"}.
  explicit Filmstrip(const QStringList& rowTitles, QWidget* parent = nullptr);

  /// The steps (1-based) shown for a run of `total` steps: the first, the last and evenly spaced
  /// ones between, at most `frames` of them.
  static QList<int> evenlySpacedSteps(int total, int frames = kMaxFrames);

  /// The positions (1-based over every stage's steps) shown for stages of `stageSteps` steps each:
  /// columns shared out in proportion to the steps, at least one per stage, each stage's spaced as
  /// evenlySpacedSteps spaces one run's, so every stage's last step (its image) has a column.
  static QList<int> stagedPositions(const QList<int>& stageSteps, int frames = kMaxFrames);

  /// Empties the strip and lays out the columns for one run of `totalSteps`.
  void reset(int totalSteps) { reset(QList<int>{totalSteps}); }
  /// Empties the strip and lays out the columns for a cascade whose stages take `stageSteps`.
  void reset(const QList<int>& stageSteps);
  /// The positions shown, one per column.
  QList<int> steps() const { return steps_; }
  int frameCount() const { return static_cast<int>(steps_.size()); }
  /// Whether `step` has a column.
  bool showsStep(int step) const { return steps_.contains(step); }
  /// Sets one image of `step`'s column (ignored when the strip has no such column).
  void setFrame(int step, int row, const QImage& image);
  QImage frame(int column, int row) const;
  /// The caption under `column`: its step, counted within its stage.
  QString caption(int column) const;
  /// The stages' headings, left to right (none for one model).
  QStringList headings() const;
  /// Columns whose every row has an image.
  int filledCount() const;
  /// Highlights the column of `step` (none when it has no column).
  void setCurrentStep(int step);

Q_SIGNALS:
  void stepClicked(int step);

private:
  void clearColumns();

  QStringList rowTitles_;
  QGridLayout* grid_;
  QList<int> steps_;
  QList<QLabel*> stageHeadings_;
  QVector<QVector<PixelImageView*>> cells_;  ///< [column][row]
};

} // namespace t2i::ui
