// A window showing one image enlarged with crisp pixels (nearest neighbour), e.g. a training
// run's 8 tiles of 32 pixels, with a caption. It resizes with the window.
#pragma once

#include <QDialog>
#include <QImage>

namespace t2i::ui {

class PixelImageView;

class EnlargedImage : public QDialog {
  Q_OBJECT
public:
  /// Shows `image` at least ×4 and at least 512 pixels on its longer side, `caption` below it.
  EnlargedImage(const QImage& image, const QString& title, const QString& caption, QWidget* parent = nullptr);

  PixelImageView* view() const { return view_; }

private:
  PixelImageView* view_;
};

} // namespace t2i::ui
