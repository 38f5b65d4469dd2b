#include "widgets/enlarged_image.h"

#include "widgets/pixel_image_view.h"

#include <QDialogButtonBox>
#include <QLabel>
#include <QVBoxLayout>

#include <algorithm>

namespace t2i::ui {
namespace {
constexpr int kMinimumFactor = 4;
constexpr int kMinimumEdge = 512;

/// The whole factor, at least kMinimumFactor, that brings the longer side to kMinimumEdge or more.
int factorFor(int width, int height) {
  const int longer = std::max(1, std::max(width, height));
  return std::max(kMinimumFactor, (kMinimumEdge + longer - 1) / longer);
}
} // namespace

EnlargedImage::EnlargedImage(const QImage& image, const QString& title, const QString& caption, QWidget* parent)
    : QDialog(parent), view_(new PixelImageView(this)) {
  setWindowTitle(title);
  setAttribute(Qt::WA_DeleteOnClose);
  view_->setObjectName(QStringLiteral("enlargedImage"));
  view_->setImage(image);
  view_->setPreferredEdge(std::max(image.width(), image.height()) * factorFor(image.width(), image.height()));
  auto* text = new QLabel(caption, this);
  text->setWordWrap(true);
  text->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(view_, 1);
  layout->addWidget(text);
  layout->addWidget(buttons);
}

} // namespace t2i::ui
