#include "filmstrip.h"

#include "pixel_image_view.h"

#include <QGridLayout>
#include <QLabel>

#include <cmath>

namespace t2i::ui {

Filmstrip::Filmstrip(const QStringList& rowTitles, QWidget* parent)
    : QWidget(parent), rowTitles_(rowTitles), grid_(new QGridLayout(this)) {
  grid_->setContentsMargins(0, 0, 0, 0);
  grid_->setSpacing(4);
  for (int row = 0; row < rowTitles_.size(); ++row) {
    auto* title = new QLabel(rowTitles_.at(row), this);
    title->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    grid_->addWidget(title, row, 0);
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

void Filmstrip::reset(int totalSteps) {
  for (const auto& column : cells_)
    for (PixelImageView* cell : column) delete cell;
  cells_.clear();
  steps_ = evenlySpacedSteps(totalSteps);
  for (int column = 0; column < steps_.size(); ++column) {
    const int step = steps_.at(column);
    QVector<PixelImageView*> cells;
    for (int row = 0; row < rowTitles_.size(); ++row) {
      auto* cell = new PixelImageView(this);
      cell->setPreferredEdge(72);
      cell->setMinimumSize(40, 40);
      cell->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
      if (row + 1 == rowTitles_.size()) cell->setCaption(tr("step %1").arg(step));
      cell->setToolTip(tr("Step %1 of %2: click to show it").arg(step).arg(totalSteps));
      connect(cell, &PixelImageView::clicked, this, [this, step] { Q_EMIT stepClicked(step); });
      grid_->addWidget(cell, row, column + 1);
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
