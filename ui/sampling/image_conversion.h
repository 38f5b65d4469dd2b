// Between the core's RGB8 images and Qt's: always a deep copy, so a QImage never points into
// memory the core owns.
#pragma once

#include "t2i/sample.h"

#include <QImage>

namespace t2i::ui {

QImage toQImage(const t2i::Image& image);
t2i::Image fromQImage(const QImage& image);

} // namespace t2i::ui
