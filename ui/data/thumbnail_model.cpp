#include "data/thumbnail_model.h"

#include <QImageReader>
#include <QPainter>
#include <QThreadPool>

namespace t2i::ui {

ThumbnailModel::ThumbnailModel(QObject* parent)
    : QAbstractListModel(parent), placeholder_(kThumbnailSide, kThumbnailSide), pool_(new QThreadPool(this)) {
  placeholder_.fill(QColor(220, 220, 220));
  pool_->setMaxThreadCount(2);
  pool_->setObjectName(QStringLiteral("thumbnails"));
}

ThumbnailModel::~ThumbnailModel() {
  pool_->clear();
  pool_->waitForDone();
}

void ThumbnailModel::setItems(std::vector<train::DataItem> items) {
  beginResetModel();
  pool_->clear();
  ++generation_;
  items_ = std::move(items);
  thumbnails_.clear();
  requested_.clear();
  endResetModel();
}

void ThumbnailModel::clear() { setItems({}); }

int ThumbnailModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(items_.size());
}

QVariant ThumbnailModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount()) return {};
  const train::DataItem& item = items_[static_cast<std::size_t>(index.row())];
  switch (role) {
  case Qt::DisplayRole:
    return item.captions.empty() ? QString() : QString::fromStdString(item.captions.front());
  case Qt::DecorationRole: {
    const auto found = thumbnails_.constFind(index.row());
    if (found != thumbnails_.constEnd()) return *found;
    request(index.row());
    return placeholder_;
  }
  case Qt::ToolTipRole: {
    QStringList lines;
    lines << tr("%1 (%2 split)").arg(QString::fromStdString(item.image_path), QString::fromStdString(item.split));
    for (const std::string& caption : item.captions) lines << QStringLiteral("• ") + QString::fromStdString(caption);
    return lines.join(QLatin1Char('\n'));
  }
  case Qt::AccessibleTextRole:
    return item.captions.empty() ? QString() : QString::fromStdString(item.captions.front());
  case ImagePathRole: return QString::fromStdString(item.image_path);
  case SplitRole: return QString::fromStdString(item.split);
  case CaptionsRole: {
    QStringList captions;
    for (const std::string& caption : item.captions) captions << QString::fromStdString(caption);
    return captions;
  }
  case ThumbnailLoadedRole: return thumbnails_.contains(index.row());
  default: return {};
  }
}

QImage ThumbnailModel::loadThumbnail(const QString& path) {
  QImageReader reader(path);
  reader.setAutoTransform(true);
  const QSize size = reader.size();
  if (size.isValid() && (size.width() > kThumbnailSide || size.height() > kThumbnailSide))
    reader.setScaledSize(size.scaled(kThumbnailSide, kThumbnailSide, Qt::KeepAspectRatio));
  QImage image = reader.read();
  if (image.isNull()) return {};
  if (image.width() < kThumbnailSide && image.height() < kThumbnailSide)
    image = image.scaled(kThumbnailSide, kThumbnailSide, Qt::KeepAspectRatio, Qt::FastTransformation);
  return centredOnSquare(image);
}

QImage ThumbnailModel::centredOnSquare(const QImage& image) {
  // Icon-mode views lay every item out at one decoration size; a thumbnail taller than the
  // others would be drawn over its caption.
  QImage square(kThumbnailSide, kThumbnailSide, QImage::Format_ARGB32_Premultiplied);
  square.fill(Qt::transparent);
  QPainter painter(&square);
  painter.drawImage((kThumbnailSide - image.width()) / 2, (kThumbnailSide - image.height()) / 2, image);
  return square;
}

void ThumbnailModel::request(int row) const {
  if (requested_.contains(row)) return;
  requested_.insert(row);
  const QString path = QString::fromStdString(items_[static_cast<std::size_t>(row)].image_path);
  const quint64 generation = generation_;
  auto* self = const_cast<ThumbnailModel*>(this);
  pool_->start([self, generation, row, path] {
    QImage image = loadThumbnail(path);
    if (image.isNull()) {
      image = QImage(kThumbnailSide, kThumbnailSide, QImage::Format_RGB32);
      image.fill(QColor(250, 225, 225));
      QPainter painter(&image);
      painter.drawText(image.rect(), Qt::AlignCenter, tr("unreadable"));
    }
    // The model drains its pool before it dies, so `self` is alive here; a delivery still queued
    // when the model goes is dropped with it.
    QMetaObject::invokeMethod(
        self, [self, generation, row, image] { self->deliver(generation, row, image); }, Qt::QueuedConnection);
  });
}

void ThumbnailModel::deliver(quint64 generation, int row, const QImage& image) {
  if (generation != generation_ || row >= rowCount()) return;
  thumbnails_.insert(row, QPixmap::fromImage(image));
  const QModelIndex changed = index(row);
  Q_EMIT dataChanged(changed, changed, {Qt::DecorationRole, ThumbnailLoadedRole});
  Q_EMIT thumbnailLoaded(row);
}

} // namespace t2i::ui
