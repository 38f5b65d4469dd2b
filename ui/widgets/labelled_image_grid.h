// A grid of small images with a title, column labels (e.g. guidance scales) and row labels
// (e.g. seeds), drawn with nearest-neighbour scaling. The same drawing exports as a PNG, so the
// saved grid is what the user sees.
#pragma once

#include <QImage>
#include <QStringList>
#include <QVector>
#include <QWidget>

#include <limits>

namespace t2i::ui {

class LabelledImageGrid : public QWidget {
  Q_OBJECT
public:
  explicit LabelledImageGrid(QWidget* parent = nullptr);

  /// Lays out an empty grid; labels may hold several lines separated by '\n'.
  void setLabels(const QString& title, const QStringList& columnLabels, const QStringList& rowLabels);
  void setImage(int row, int column, const QImage& image);
  QImage image(int row, int column) const;
  int rowCount() const { return static_cast<int>(rowLabels_.size()); }
  int columnCount() const { return static_cast<int>(columnLabels_.size()); }
  QString title() const { return title_; }
  QStringList columnLabels() const { return columnLabels_; }
  QStringList rowLabels() const { return rowLabels_; }
  bool isComplete() const;

  /// The labelled grid on a white background, each image shown at `cellEdge` pixels.
  QImage render(int cellEdge = 192) const;

  QSize sizeHint() const override;

protected:
  void paintEvent(QPaintEvent* event) override;

private:
  struct Metrics {
    int cell = 0;
    int column = 0;  ///< a column's width: the cell, or its widest label line when that is wider
    int spacing = 8;
    int titleHeight = 0;
    int headerHeight = 0;
    int rowLabelWidth = 0;
    QSize total() const;
    int columns = 0;
    int rows = 0;
  };
  /// The layout for cells of `cellEdge` pixels; columns widen to their labels up to `maxWidth`
  /// in all, and longer labels are elided.
  Metrics metrics(int cellEdge, const QFontMetrics& fm, int maxWidth = std::numeric_limits<int>::max()) const;
  /// The largest whole multiple of the images' size (or any size if none fits) for `area`.
  int cellEdgeFor(QSize area, const QFontMetrics& fm) const;
  void paintGrid(QPainter& painter, const Metrics& m, const QColor& text, const QColor& empty) const;

  QString title_;
  QStringList columnLabels_;
  QStringList rowLabels_;
  QVector<QImage> images_;  ///< row-major
};

} // namespace t2i::ui
