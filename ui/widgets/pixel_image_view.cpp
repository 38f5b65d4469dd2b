#include "pixel_image_view.h"

#include <QMouseEvent>
#include <QPainter>

#include <algorithm>
#include <cmath>

namespace t2i::ui {

QRect pixelFitRect(QSize source, const QRect& bounds) {
  if (source.isEmpty() || bounds.isEmpty()) return {};
  const double fit = std::min(static_cast<double>(bounds.width()) / source.width(),
                              static_cast<double>(bounds.height()) / source.height());
  const double scale = fit >= 1.0 ? std::floor(fit) : fit;
  const QSize size(std::max(1, static_cast<int>(source.width() * scale)),
                   std::max(1, static_cast<int>(source.height() * scale)));
  return QRect(bounds.x() + (bounds.width() - size.width()) / 2, bounds.y() + (bounds.height() - size.height()) / 2,
               size.width(), size.height());
}

PixelImageView::PixelImageView(QWidget* parent) : QWidget(parent) {
  setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
}

void PixelImageView::setImage(const QImage& image) {
  image_ = image;
  update();
}

void PixelImageView::clear() {
  image_ = QImage();
  update();
}

void PixelImageView::setCaption(const QString& caption) {
  if (caption == caption_) return;
  const bool geometryChanges = caption.isEmpty() != caption_.isEmpty();
  caption_ = caption;
  if (geometryChanges) updateGeometry();
  update();
}

void PixelImageView::setPlaceholder(const QString& text) {
  placeholder_ = text;
  update();
}

void PixelImageView::setPreferredEdge(int pixels) {
  preferredEdge_ = pixels;
  updateGeometry();
}

void PixelImageView::setSelected(bool selected) {
  if (selected == selected_) return;
  selected_ = selected;
  update();
}

int PixelImageView::captionHeight() const { return caption_.isEmpty() ? 0 : fontMetrics().height() + 4; }

QSize PixelImageView::sizeHint() const { return QSize(preferredEdge_, preferredEdge_ + captionHeight()); }

QSize PixelImageView::minimumSizeHint() const {
  const int edge = std::min(preferredEdge_, 64);
  return QSize(edge, edge + captionHeight());
}

void PixelImageView::paintEvent(QPaintEvent*) {
  QPainter painter(this);
  const QRect frame = rect().adjusted(0, 0, 0, -captionHeight());
  painter.fillRect(frame, palette().color(QPalette::Base).darker(105));
  const QRect target = pixelFitRect(image_.size(), frame.adjusted(2, 2, -2, -2));
  if (!image_.isNull()) {
    // Nearest neighbour: a 64×64 sample is meant to be seen pixel by pixel.
    painter.setRenderHint(QPainter::SmoothPixmapTransform, false);
    painter.drawImage(target, image_);
  } else if (!placeholder_.isEmpty()) {
    painter.setPen(palette().color(QPalette::PlaceholderText));
    painter.drawText(frame.adjusted(6, 6, -6, -6), Qt::AlignCenter | Qt::TextWordWrap, placeholder_);
  }
  if (selected_) {
    QPen pen(palette().color(QPalette::Highlight), 3);
    painter.setPen(pen);
    painter.setBrush(Qt::NoBrush);
    painter.drawRect((target.isValid() ? target : frame).adjusted(-1, -1, 0, 0));
  }
  if (!caption_.isEmpty()) {
    painter.setPen(palette().color(QPalette::WindowText));
    const QRect captionRect(0, frame.bottom() + 2, width(), captionHeight() - 2);
    painter.drawText(captionRect, Qt::AlignHCenter | Qt::AlignTop,
                     fontMetrics().elidedText(caption_, Qt::ElideRight, width()));
  }
}

void PixelImageView::mousePressEvent(QMouseEvent* event) {
  if (event->button() == Qt::LeftButton) Q_EMIT clicked();
  QWidget::mousePressEvent(event);
}

} // namespace t2i::ui
