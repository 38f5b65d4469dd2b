#include "filmstrip.h"

#include "pixel_image_view.h"

#include <QGridLayout>
#include <QLabel>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace t2i::ui {

Filmstrip::Filmstrip(const QStringList& rowTitles, QWidget* parent)
    : QWidget(parent), rowTitles_(rowTitles), grid_(new QGridLayout(this)) {
  grid_->setContentsMargins(0, 0, 0, 0);
  grid_->setSpacing(4);
  for (int row = 0; row < rowTitles_.size(); ++row) {
    auto* title = new QLabel(rowTitles_.at(row), this);
    title->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    grid_->addWidget(title, row + 1, 0);  // row 0: the stages' headings
  }
  setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
}

QList<int> Filmstrip::evenlySpacedSteps(int total, int frames) {
  QList<int> steps;
  if (total <= 0 || frames <= 0) return steps;
  if (total <= frames) {
    for (int step = 1; step <= total; ++step) steps << step;
    return steps;
  }
  if (frames == 1) return {total};
  for (int k = 0; k < frames; ++k)
    steps << 1 + static_cast<int>(std::lround(static_cast<double>(k) * (total - 1) / (frames - 1)));
  return steps;
}

QList<int> Filmstrip::stagedPositions(const QList<int>& stageSteps, int frames) {
  const int total = std::accumulate(stageSteps.begin(), stageSteps.end(), 0);
  if (total <= 0 || frames <= 0) return {};
  QList<int> shares;
  for (const int steps : stageSteps) shares << std::clamp(frames * steps / total, std::min(1, steps), std::max(0, steps));
  // The columns left over go, one at a time, to the stage whose columns lie furthest apart.
  for (int used = std::accumulate(shares.begin(), shares.end(), 0); used < frames; ++used) {
    int widest = -1;
    for (int stage = 0; stage < shares.size(); ++stage) {
      if (shares[stage] == 0 || shares[stage] >= stageSteps[stage]) continue;
      if (widest < 0 || stageSteps[stage] * shares[widest] > stageSteps[widest] * shares[stage]) widest = stage;
    }
    if (widest < 0) break;
    ++shares[widest];
  }
  QList<int> positions;
  int offset = 0;
  for (int stage = 0; stage < stageSteps.size(); ++stage) {
    for (const int step : evenlySpacedSteps(stageSteps[stage], shares[stage])) positions << offset + step;
    offset += std::max(0, stageSteps[stage]);
  }
  return positions;
}

void Filmstrip::clearColumns() {
  for (const auto& column : cells_)
    for (PixelImageView* cell : column) delete cell;
  cells_.clear();
  qDeleteAll(stageHeadings_);
  stageHeadings_.clear();
}

void Filmstrip::reset(const QList<int>& stageSteps) {
  clearColumns();
  steps_ = stagedPositions(stageSteps);
  const int stages = static_cast<int>(stageSteps.size());
  int stage = 0;
  int stageStart = 0;  // the position before the stage's first step
  int stageColumn = 0;  // the stage's first column
  for (int column = 0; column < steps_.size(); ++column) {
    const int position = steps_.at(column);
    while (position > stageStart + stageSteps.at(stage)) {
      stageStart += stageSteps.at(stage++);
      stageColumn = column;
    }
    const int step = position - stageStart;
    const int total = stageSteps.at(stage);
    if (stages > 1 && column == stageColumn) {
      auto* heading = new QLabel(tr("stage %1 of %2").arg(stage + 1).arg(stages), this);
      heading->setAlignment(Qt::AlignHCenter | Qt::AlignBottom);
      int span = 0;
      while (column + span < steps_.size() && steps_.at(column + span) <= stageStart + total) ++span;
      grid_->addWidget(heading, 0, column + 1, 1, span);
      stageHeadings_ << heading;
    }
    QVector<PixelImageView*> cells;
    for (int row = 0; row < rowTitles_.size(); ++row) {
      auto* cell = new PixelImageView(this);
      cell->setPreferredEdge(72);
      cell->setMinimumSize(40, 40);
      cell->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
      if (row + 1 == rowTitles_.size()) cell->setCaption(tr("step %1").arg(step));
      cell->setToolTip(stages > 1 ? tr("Stage %1 of %2, step %3 of %4: click to show it")
                                        .arg(stage + 1)
                                        .arg(stages)
                                        .arg(step)
                                        .arg(total)
                                  : tr("Step %1 of %2: click to show it").arg(step).arg(total));
      connect(cell, &PixelImageView::clicked, this, [this, position] { Q_EMIT stepClicked(position); });
      grid_->addWidget(cell, row + 1, column + 1);
      cells << cell;
    }
    cells_ << cells;
  }
}

void Filmstrip::setFrame(int step, int row, const QImage& image) {
  const auto column = steps_.indexOf(step);
  if (column < 0 || row < 0 || row >= rowTitles_.size()) return;
  cells_[column][row]->setImage(image);
}

QImage Filmstrip::frame(int column, int row) const {
  if (column < 0 || column >= cells_.size() || row < 0 || row >= rowTitles_.size()) return {};
  return cells_.at(column).at(row)->image();
}

QString Filmstrip::caption(int column) const {
  if (column < 0 || column >= cells_.size() || cells_.at(column).isEmpty()) return {};
  return cells_.at(column).last()->caption();
}

QStringList Filmstrip::headings() const {
  QStringList texts;
  for (const QLabel* heading : stageHeadings_) texts << heading->text();
  return texts;
}

int Filmstrip::filledCount() const {
  int filled = 0;
  for (const auto& column : cells_) {
    bool full = true;
    for (const PixelImageView* cell : column) full = full && !cell->image().isNull();
    filled += full ? 1 : 0;
  }
  return filled;
}

void Filmstrip::setCurrentStep(int step) {
  for (int column = 0; column < cells_.size(); ++column)
    for (PixelImageView* cell : cells_[column]) cell->setSelected(steps_.at(column) == step);
}

} // namespace t2i::ui
