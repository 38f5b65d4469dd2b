#include "image_conversion.h"

#include <cstring>

namespace t2i::ui {

QImage toQImage(const t2i::Image& image) {
  const auto rowBytes = static_cast<std::size_t>(image.width) * 3;
  if (image.width <= 0 || image.height <= 0 || image.rgb.size() < rowBytes * static_cast<std::size_t>(image.height))
    return {};
  QImage out(image.width, image.height, QImage::Format_RGB888);
  for (int y = 0; y < image.height; ++y)
    std::memcpy(out.scanLine(y), image.rgb.data() + rowBytes * static_cast<std::size_t>(y), rowBytes);
  return out;
}

t2i::Image fromQImage(const QImage& image) {
  const QImage rgb = image.convertToFormat(QImage::Format_RGB888);
  t2i::Image out;
  out.width = rgb.width();
  out.height = rgb.height();
  const auto rowBytes = static_cast<std::size_t>(out.width) * 3;
  out.rgb.resize(rowBytes * static_cast<std::size_t>(out.height));
  for (int y = 0; y < out.height; ++y)
    std::memcpy(out.rgb.data() + rowBytes * static_cast<std::size_t>(y), rgb.constScanLine(y), rowBytes);
  return out;
}

} // namespace t2i::ui
