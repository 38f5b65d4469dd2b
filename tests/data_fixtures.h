// Image fixtures for test_data, encoded here with libjpeg and libpng directly, independently of
// the decoders under test: JPEGs in every colour space with optional EXIF orientation, PNGs of
// every colour type and bit depth.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace t2i::test {

enum class JpegSpace { Gray, Rgb, Cmyk, Ycck };

struct JpegSpec {
  JpegSpace space = JpegSpace::Rgb;
  int quality = 100;
  bool adobe_marker = true;     ///< CMYK/YCCK only: write Adobe's APP14 marker
  int exif_orientation = 0;     ///< 0 = no EXIF segment
  bool exif_big_endian = false; ///< "MM" instead of "II" TIFF byte order
};

/// Encodes samples (row-major, 1/3/4 components by space) as a JPEG with 1×1 sampling for every
/// component, so flat 8×8 blocks survive quality 100 exactly.
std::vector<std::uint8_t> encode_jpeg(const std::vector<std::uint8_t>& samples, int width, int height, const JpegSpec& spec);

struct PngSpec {
  int color_type = 2;   ///< PNG_COLOR_TYPE_*: 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA
  int bit_depth = 8;
  std::vector<std::uint8_t> palette{};  ///< RGB triples for color type 3
  std::vector<std::uint8_t> trns{};     ///< palette alphas for color type 3
  int exif_orientation = 0;           ///< 0 = no eXIf chunk
};

/// Encodes samples already packed as PNG rows expect (16-bit samples big-endian, sub-byte
/// depths packed) as a PNG.
std::vector<std::uint8_t> encode_png(const std::vector<std::uint8_t>& rows, int width, int height, const PngSpec& spec);

/// A TIFF block (byte order mark onwards) with IFD0 holding only the orientation tag.
std::vector<std::uint8_t> exif_tiff(int orientation, bool big_endian);

void write_file(const std::string& path, const std::vector<std::uint8_t>& bytes);
void write_file(const std::string& path, const std::string& text);

} // namespace t2i::test
