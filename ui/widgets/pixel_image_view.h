// Shows a small image (64×64 samples, noisy latents) enlarged with nearest-neighbour scaling so
// its pixels stay crisp, with an optional caption underneath. Clicking it emits clicked().
#pragma once

#include <QImage>
#include <QWidget>

namespace t2i::ui {

class PixelImageView : public QWidget {
  Q_OBJECT
public:
  explicit PixelImageView(QWidget* parent = nullptr);

  void setImage(const QImage& image);
  QImage image() const { return image_; }
  void clear();

  void setCaption(const QString& caption);
  QString caption() const { return caption_; }
  /// Shown in the frame while there is no image.
  void setPlaceholder(const QString& text);

  /// Size the view asks for: the image's pixels at this edge length (default 256).
  void setPreferredEdge(int pixels);
  void setSelected(bool selected);
  bool isSelected() const { return selected_; }

  QSize sizeHint() const override;
  QSize minimumSizeHint() const override;

Q_SIGNALS:
  void clicked();

protected:
  void paintEvent(QPaintEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;

private:
  int captionHeight() const;

  QImage image_;
  QString caption_;
  QString placeholder_;
  int preferredEdge_ = 256;
  bool selected_ = false;
};

/// The largest rectangle of `source`'s aspect that fits `bounds`, centred, scaled by a whole
/// factor when the image is enlarged (so every source pixel becomes the same number of screen
/// pixels) and by any factor when it must shrink.
QRect pixelFitRect(QSize source, const QRect& bounds);

} // namespace t2i::ui
