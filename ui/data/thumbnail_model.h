// The images of a prepared dataset as a list model for an icon-mode QListView: a caption under
// each thumbnail, every caption and the split in the tooltip. Thumbnails are decoded only when
// the view first asks for them (the visible rows), on a thread pool, scaled down while decoding;
// until one arrives the row shows a grey placeholder.
#pragma once

#include "t2i/train.h"

#include <QAbstractListModel>
#include <QHash>
#include <QPixmap>
#include <QSet>

#include <vector>

class QThreadPool;

namespace t2i::ui {

class ThumbnailModel : public QAbstractListModel {
  Q_OBJECT
public:
  static constexpr int kThumbnailSide = 96;
  enum Role { ImagePathRole = Qt::UserRole + 1, SplitRole, CaptionsRole, ThumbnailLoadedRole };

  explicit ThumbnailModel(QObject* parent = nullptr);
  ~ThumbnailModel() override;

  void setItems(std::vector<train::DataItem> items);
  void clear();

  int rowCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;

  /// Thumbnails decoded so far (tests: the grid loads lazily).
  int loadedCount() const { return static_cast<int>(thumbnails_.size()); }

  /// Reads an image scaled to fit kThumbnailSide (small images are enlarged without smoothing so
  /// 32×32 pixels stay crisp), centred on a transparent kThumbnailSide square. A null image when
  /// the file cannot be read.
  static QImage loadThumbnail(const QString& path);
  /// `image` (at most kThumbnailSide on each side) centred on a transparent square of that side.
  static QImage centredOnSquare(const QImage& image);

Q_SIGNALS:
  void thumbnailLoaded(int row);

private:
  void request(int row) const;
  void deliver(quint64 generation, int row, const QImage& image);

  std::vector<train::DataItem> items_;
  QHash<int, QPixmap> thumbnails_;
  mutable QSet<int> requested_;
  QPixmap placeholder_;
  QThreadPool* pool_;
  /// Bumped on every reset, so thumbnails of an older item list are dropped when they arrive.
  quint64 generation_ = 0;
};

} // namespace t2i::ui
