#include "data/schedule_image.h"

#include "t2i/data.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace t2i::ui {

CaptionedFiles readFirstCaptions(const QString& annotations, const QString& imagesDir) {
  CaptionedFiles listed;
  for (const t2i::data::ListedImage& image : t2i::data::list_images({annotations.toStdString(), imagesDir.toStdString()})) {
    listed.files << QString::fromStdString(image.path);
    listed.captions << QString::fromStdString(image.caption);
  }
  if (listed.files.isEmpty()) throw std::runtime_error(annotations.toStdString() + ": lists no images");
  return listed;
}

QImage loadSquareImage(const QString& path, int edge) {
  const std::vector<std::uint8_t> rgb = t2i::data::load_square_image(path.toStdString(), edge);
  QImage image(edge, edge, QImage::Format_RGB888);
  const auto rowBytes = static_cast<std::size_t>(edge) * 3;
  for (int y = 0; y < edge; ++y) std::copy_n(rgb.data() + static_cast<std::size_t>(y) * rowBytes, rowBytes, image.scanLine(y));
  return image;
}

std::vector<float> toSignedPixels(const QImage& image) {
  const QImage rgb = image.convertToFormat(QImage::Format_RGB888);
  const auto rowValues = static_cast<std::size_t>(rgb.width()) * 3;
  std::vector<float> pixels(rowValues * static_cast<std::size_t>(rgb.height()));
  for (int y = 0; y < rgb.height(); ++y) {
    const uchar* row = rgb.constScanLine(y);
    for (std::size_t x = 0; x < rowValues; ++x) pixels[static_cast<std::size_t>(y) * rowValues + x] = row[x] / 127.5f - 1.0f;
  }
  return pixels;
}

QImage fromSignedPixels(const std::vector<float>& pixels, int width, int height) {
  QImage out(width, height, QImage::Format_RGB888);
  const auto rowValues = static_cast<std::size_t>(width) * 3;
  for (int y = 0; y < height; ++y) {
    uchar* row = out.scanLine(y);
    for (std::size_t x = 0; x < rowValues; ++x) {
      const float v = pixels[static_cast<std::size_t>(y) * rowValues + x];
      row[x] = static_cast<uchar>(std::lround(std::clamp((v + 1.0f) * 127.5f, 0.0f, 255.0f)));
    }
  }
  return out;
}

} // namespace t2i::ui
