#include "data/schedule_image.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMap>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace t2i::ui {

CaptionedFiles readFirstCaptions(const QString& annotations, const QString& imagesDir) {
  QFile file(annotations);
  if (!file.open(QIODevice::ReadOnly)) throw std::runtime_error(annotations.toStdString() + ": cannot be read");
  const QJsonObject root = QJsonDocument::fromJson(file.readAll()).object();
  QMap<qint64, QString> first;
  for (const QJsonValue& a : root.value(QStringLiteral("annotations")).toArray()) {
    const qint64 id = a.toObject().value(QStringLiteral("image_id")).toInteger();
    if (!first.contains(id)) first.insert(id, a.toObject().value(QStringLiteral("caption")).toString());
  }
  CaptionedFiles listed;
  for (const QJsonValue& i : root.value(QStringLiteral("images")).toArray()) {
    const QJsonObject image = i.toObject();
    listed.files << QDir(imagesDir).filePath(image.value(QStringLiteral("file_name")).toString());
    listed.captions << first.value(image.value(QStringLiteral("id")).toInteger());
  }
  if (listed.files.isEmpty()) throw std::runtime_error(annotations.toStdString() + ": lists no images");
  return listed;
}

QImage centreSquare(const QImage& image, int edge) {
  const int side = std::min(image.width(), image.height());
  const QImage square = image.copy((image.width() - side) / 2, (image.height() - side) / 2, side, side);
  return square.scaled(edge, edge, Qt::IgnoreAspectRatio, Qt::SmoothTransformation).convertToFormat(QImage::Format_RGB888);
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
