// JPEG and PNG files to 8-bit RGB, as datasets contain them: grayscale, CMYK/YCCK JPEG (Adobe's
// inverted convention), 16-bit, palette and transparent PNG (composited on white), EXIF
// orientation applied. Decoded with libjpeg-turbo and libpng; format chosen by content, not name.
#pragma once

#include "data/data_error.h"
#include "t2i/image.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace t2i::data {

/// Why a file is not a usable image.
enum class ImageProblem {
  Missing,     ///< absent or unreadable
  Empty,       ///< zero bytes
  NotAnImage,  ///< neither JPEG nor PNG
  Corrupt,     ///< truncated, corrupt, too large or unsupported JPEG/PNG data
};

/// "missing", "empty", "not an image", "corrupt".
const char* to_string(ImageProblem problem);

/// An image that cannot be used; the message names the file.
class ImageError : public DataError {
public:
  ImageError(ImageProblem problem, const std::string& file, const std::string& what)
      : DataError(file, what), problem_(problem) {}
  ImageProblem problem() const { return problem_; }

private:
  ImageProblem problem_;
};

struct DecodeOptions {
  /// When > 0, a JPEG is decoded at the smallest libjpeg DCT scale (M/8) that keeps its shorter
  /// side at least this long: most of a large image's decoding cost is skipped and the DCT's
  /// scaling is itself an antialiased reduction. 0 = full size.
  int min_shorter_side = 0;
};

/// Decodes an image file. Throws ImageError (Missing, Empty, NotAnImage, Corrupt).
Image decode_image_file(const std::string& path, const DecodeOptions& options = {});

/// Decodes an encoded image in memory; `name` is what error messages call it.
Image decode_image(const std::uint8_t* data, std::size_t size, const std::string& name,
                      const DecodeOptions& options = {});

} // namespace t2i::data
