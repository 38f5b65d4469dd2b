// What the Schedules page noises, without its widgets: the demo scenes it offers (each with its
// first caption) and any image made into the model's square input the way the data pipeline
// makes it (centre square, resized), as the floats the forward process takes.
#pragma once

#include <QImage>
#include <QStringList>

#include <vector>

namespace t2i::ui {

struct CaptionedFiles {
  QStringList files;     ///< absolute or images-folder-relative paths, in the captions file's order
  QStringList captions;  ///< each image's first caption ("" when it has none)
};

/// The images a caption file lists (data::list_images), each with its first caption. Throws
/// std::runtime_error naming the file when it cannot be read or lists no images.
CaptionedFiles readFirstCaptions(const QString& annotations, const QString& imagesDir);

/// An image file as the model of size `edge` sees it (data::load_square_image: the image cache's
/// decoding, resize and centre square), as RGB888. Throws naming the file and the problem.
QImage loadSquareImage(const QString& path, int edge);

/// An image's pixels as row-major RGB floats in [−1, 1] (the model's range).
std::vector<float> toSignedPixels(const QImage& image);

/// Floats in [−1, 1] (row-major RGB) back to an RGB888 image, clamped and rounded.
QImage fromSignedPixels(const std::vector<float>& pixels, int width, int height);

} // namespace t2i::ui
