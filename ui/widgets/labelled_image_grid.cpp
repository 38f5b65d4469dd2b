#include "labelled_image_grid.h"

#include "pixel_image_view.h"

#include <QPainter>

#include <algorithm>

namespace t2i::ui {
namespace {
constexpr int kNativeEdge = 64;

int lineCount(const QString& label) { return static_cast<int>(label.count(QLatin1Char('\n'))) + 1; }
} // namespace

LabelledImageGrid::LabelledImageGrid(QWidget* parent) : QWidget(parent) {
  setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
}

void LabelledImageGrid::setLabels(const QString& title, const QStringList& columnLabels, const QStringList& rowLabels) {
  title_ = title;
  columnLabels_ = columnLabels;
  rowLabels_ = rowLabels;
  images_ = QVector<QImage>(columnLabels.size() * rowLabels.size());
  updateGeometry();
  update();
}

void LabelledImageGrid::setImage(int row, int column, const QImage& image) {
  if (row < 0 || row >= rowCount() || column < 0 || column >= columnCount()) return;
  images_[row * columnCount() + column] = image;
  update();
}

QImage LabelledImageGrid::image(int row, int column) const {
  if (row < 0 || row >= rowCount() || column < 0 || column >= columnCount()) return {};
  return images_.at(row * columnCount() + column);
}

bool LabelledImageGrid::isComplete() const {
  return !images_.isEmpty() && std::none_of(images_.begin(), images_.end(), [](const QImage& i) { return i.isNull(); });
}

QSize LabelledImageGrid::Metrics::total() const {
  return QSize(rowLabelWidth + columns * (column + spacing), titleHeight + headerHeight + rows * (cell + spacing));
}

LabelledImageGrid::Metrics LabelledImageGrid::metrics(int cellEdge, const QFontMetrics& fm, int maxWidth) const {
  Metrics m;
  m.cell = cellEdge;
  m.columns = columnCount();
  m.rows = rowCount();
  m.titleHeight = title_.isEmpty() ? 0 : fm.height() * lineCount(title_) + m.spacing;
  int headerLines = 0;
  int widestLabel = 0;
  for (const QString& label : columnLabels_) {
    headerLines = std::max(headerLines, lineCount(label));
    for (const QString& line : label.split(QLatin1Char('\n'))) widestLabel = std::max(widestLabel, fm.horizontalAdvance(line));
  }
  m.headerHeight = headerLines * fm.height() + m.spacing / 2;
  for (const QString& label : rowLabels_)
    for (const QString& line : label.split(QLatin1Char('\n')))
      m.rowLabelWidth = std::max(m.rowLabelWidth, fm.horizontalAdvance(line) + 2 * m.spacing);
  const int room = m.columns > 0 ? (maxWidth - m.rowLabelWidth) / m.columns - m.spacing : m.cell;
  m.column = std::max(m.cell, std::min(widestLabel, room));
  return m;
}

int LabelledImageGrid::cellEdgeFor(QSize area, const QFontMetrics& fm) const {
  if (columnCount() == 0 || rowCount() == 0) return kNativeEdge;
  const Metrics m = metrics(0, fm);
  const int byWidth = (area.width() - m.rowLabelWidth) / columnCount() - m.spacing;
  const int byHeight = (area.height() - m.titleHeight - m.headerHeight) / rowCount() - m.spacing;
  const int fit = std::max(16, std::min(byWidth, byHeight));
  QSize native(kNativeEdge, kNativeEdge);
  for (const QImage& image : images_)
    if (!image.isNull()) {
      native = image.size();
      break;
    }
  return fit >= native.width() ? fit / native.width() * native.width() : fit;
}

void LabelledImageGrid::paintGrid(QPainter& painter, const Metrics& m, const QColor& text, const QColor& empty) const {
  painter.setPen(text);
  if (!title_.isEmpty()) {
    const QFont regular = painter.font();
    QFont bold = regular;
    bold.setBold(true);
    painter.setFont(bold);
    painter.drawText(QRect(0, 0, m.total().width(), m.titleHeight), Qt::AlignLeft | Qt::AlignTop, title_);
    painter.setFont(regular);
  }
  const int top = m.titleHeight + m.headerHeight;
  for (int column = 0; column < m.columns; ++column) {
    const int x = m.rowLabelWidth + column * (m.column + m.spacing);
    // Elided at the start: a label's end tells columns apart ("…= 10", "…step 400").
    QStringList lines;
    for (const QString& line : columnLabels_.at(column).split(QLatin1Char('\n')))
      lines << painter.fontMetrics().elidedText(line, Qt::ElideLeft, m.column);
    painter.drawText(QRect(x, m.titleHeight, m.column, m.headerHeight), Qt::AlignHCenter | Qt::AlignBottom,
                     lines.join(QLatin1Char('\n')));
  }
  painter.setRenderHint(QPainter::SmoothPixmapTransform, false);
  for (int row = 0; row < m.rows; ++row) {
    const int y = top + row * (m.cell + m.spacing);
    painter.drawText(QRect(0, y, m.rowLabelWidth - m.spacing, m.cell), Qt::AlignRight | Qt::AlignVCenter,
                     rowLabels_.at(row));
    for (int column = 0; column < m.columns; ++column) {
      // Centred under its label when the label is wider than the cell.
      const int x = m.rowLabelWidth + column * (m.column + m.spacing) + (m.column - m.cell) / 2;
      const QRect cell(x, y, m.cell, m.cell);
      const QImage& image = images_.at(row * m.columns + column);
      if (image.isNull())
        painter.fillRect(cell, empty);
      else
        painter.drawImage(pixelFitRect(image.size(), cell), image);
    }
  }
}

QImage LabelledImageGrid::render(int cellEdge) const {
  QFont font = this->font();
  const Metrics m = metrics(cellEdge, QFontMetrics(font));
  QImage out(m.total().grownBy(QMargins(12, 12, 12, 12)), QImage::Format_RGB32);
  out.fill(Qt::white);
  QPainter painter(&out);
  painter.setFont(font);
  painter.translate(12, 12);
  paintGrid(painter, m, Qt::black, QColor(230, 230, 230));
  return out;
}

QSize LabelledImageGrid::sizeHint() const { return metrics(192, fontMetrics()).total(); }

void LabelledImageGrid::paintEvent(QPaintEvent*) {
  QPainter painter(this);
  const Metrics m = metrics(cellEdgeFor(size(), fontMetrics()), fontMetrics(), width());
  paintGrid(painter, m, palette().color(QPalette::WindowText), palette().color(QPalette::Base).darker(105));
}

} // namespace t2i::ui
