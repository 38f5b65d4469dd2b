#include "data/image_transform.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace t2i::data {

Image apply_orientation(const Image& image, int orientation) {
  if (orientation < 2 || orientation > 8) return image;
  const int w = image.width;
  const int h = image.height;
  const bool swaps = orientation >= 5;  // 5–8 turn by a quarter, exchanging width and height
  Image out(swaps ? h : w, swaps ? w : h);
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x) {
      int sx = x;
      int sy = y;
      switch (orientation) {  // EXIF 2.3, tag 0x0112: where the displayed pixel (x, y) is stored
        case 2: sx = w - 1 - x; break;                    // mirrored left–right
        case 3: sx = w - 1 - x; sy = h - 1 - y; break;    // turned 180°
        case 4: sy = h - 1 - y; break;                    // mirrored top–bottom
        case 5: sx = y; sy = x; break;                    // transposed
        case 6: sx = y; sy = h - 1 - x; break;            // needs a 90° clockwise turn
        case 7: sx = w - 1 - y; sy = h - 1 - x; break;    // transversed
        case 8: sx = w - 1 - y; sy = x; break;            // needs a 90° counter-clockwise turn
        default: break;
      }
      const std::uint8_t* s = image.at(sx, sy);
      std::uint8_t* d = out.at(x, y);
      d[0] = s[0];
      d[1] = s[1];
      d[2] = s[2];
    }
  }
  return out;
}

namespace {

// Source taps of each output sample along one axis.
struct Taps {
  std::vector<int> first;       // first source index per output sample
  std::vector<int> count;       // number of taps per output sample
  std::vector<float> weights;   // `width` weights per output sample, normalised
  int width = 0;                // weights stored per output sample
  int lowest = 0;               // smallest source index used
  int highest = 0;              // largest source index used
};

// Output sample i covers source interval [origin + i·scale, origin + (i+1)·scale). The triangle
// filter is stretched by the reduction factor (scale > 1) so that it averages the whole interval;
// when enlarging (scale < 1) it stays the bilinear tent of radius 1.
Taps make_taps(int source_length, double origin, double scale, int outputs) {
  const double radius = std::max(1.0, scale);
  Taps taps;
  taps.width = static_cast<int>(std::ceil(radius)) * 2 + 1;
  taps.first.resize(static_cast<std::size_t>(outputs));
  taps.count.resize(static_cast<std::size_t>(outputs));
  taps.weights.assign(static_cast<std::size_t>(outputs) * static_cast<std::size_t>(taps.width), 0.0f);
  taps.lowest = source_length;
  taps.highest = 0;
  for (int i = 0; i < outputs; ++i) {
    const double centre = origin + (i + 0.5) * scale;
    const int lo = std::max(0, static_cast<int>(std::floor(centre - radius)));
    const int hi = std::min(source_length - 1, static_cast<int>(std::ceil(centre + radius)));
    double total = 0;
    std::vector<double> w;
    for (int j = lo; j <= hi; ++j) {
      const double weight = std::max(0.0, 1.0 - std::abs(j + 0.5 - centre) / radius);
      w.push_back(weight);
      total += weight;
    }
    // Every centre lies inside the source, so its own pixel has positive weight; drop the zero
    // weights at the ends so loops stay short.
    int first = lo;
    std::size_t begin = 0;
    while (w[begin] == 0.0) ++begin, ++first;
    std::size_t end = w.size();
    while (w[end - 1] == 0.0) --end;
    w = std::vector<double>(w.begin() + static_cast<std::ptrdiff_t>(begin), w.begin() + static_cast<std::ptrdiff_t>(end));
    taps.first[static_cast<std::size_t>(i)] = first;
    taps.count[static_cast<std::size_t>(i)] = static_cast<int>(w.size());
    for (std::size_t k = 0; k < w.size(); ++k)
      taps.weights[static_cast<std::size_t>(i) * static_cast<std::size_t>(taps.width) + k] = static_cast<float>(w[k] / total);
    taps.lowest = std::min(taps.lowest, first);
    taps.highest = std::max(taps.highest, first + static_cast<int>(w.size()) - 1);
  }
  return taps;
}

} // namespace

Image resize_and_center_crop(const Image& image, int size) {
  if (size <= 0) throw std::invalid_argument("resize_and_center_crop: size must be positive");
  if (image.width <= 0 || image.height <= 0) throw std::invalid_argument("resize_and_center_crop: empty image");
  const int shorter = std::min(image.width, image.height);
  const double scale = static_cast<double>(shorter) / size;  // source pixels per output pixel
  const Taps columns = make_taps(image.width, (image.width - shorter) / 2.0, scale, size);
  const Taps rows = make_taps(image.height, (image.height - shorter) / 2.0, scale, size);

  // Horizontal pass over the source rows the vertical pass will read.
  const int row_count = rows.highest - rows.lowest + 1;
  std::vector<float> horizontal(static_cast<std::size_t>(row_count) * static_cast<std::size_t>(size) * 3);
  for (int r = 0; r < row_count; ++r) {
    const std::uint8_t* src = image.at(0, rows.lowest + r);
    float* dst = horizontal.data() + static_cast<std::size_t>(r) * static_cast<std::size_t>(size) * 3;
    for (int x = 0; x < size; ++x) {
      const float* w = columns.weights.data() + static_cast<std::size_t>(x) * static_cast<std::size_t>(columns.width);
      const std::uint8_t* p = src + static_cast<std::size_t>(columns.first[static_cast<std::size_t>(x)]) * 3;
      float acc[3] = {0, 0, 0};
      for (int k = 0; k < columns.count[static_cast<std::size_t>(x)]; ++k, p += 3) {
        acc[0] += w[k] * p[0];
        acc[1] += w[k] * p[1];
        acc[2] += w[k] * p[2];
      }
      dst[3 * x] = acc[0];
      dst[3 * x + 1] = acc[1];
      dst[3 * x + 2] = acc[2];
    }
  }

  Image out(size, size);
  const std::size_t row_floats = static_cast<std::size_t>(size) * 3;
  std::vector<float> acc(row_floats);
  for (int y = 0; y < size; ++y) {
    std::fill(acc.begin(), acc.end(), 0.0f);
    const float* w = rows.weights.data() + static_cast<std::size_t>(y) * static_cast<std::size_t>(rows.width);
    const int first = rows.first[static_cast<std::size_t>(y)] - rows.lowest;
    for (int k = 0; k < rows.count[static_cast<std::size_t>(y)]; ++k) {
      const float* src = horizontal.data() + static_cast<std::size_t>(first + k) * row_floats;
      for (std::size_t i = 0; i < row_floats; ++i) acc[i] += w[k] * src[i];
    }
    std::uint8_t* dst = out.at(0, y);
    for (std::size_t i = 0; i < row_floats; ++i) dst[i] = static_cast<std::uint8_t>(std::clamp(acc[i] + 0.5f, 0.0f, 255.0f));
  }
  return out;
}

Image enlarged(const Image& image, int factor) {
  Image out(image.width * factor, image.height * factor);
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x) std::memcpy(out.at(x, y), image.at(x / factor, y / factor), 3);
  return out;
}

void paste(Image& into, const Image& tile, int x, int y) {
  if (x < 0 || y < 0 || x + tile.width > into.width || y + tile.height > into.height)
    throw std::invalid_argument("paste: the tile does not fit at that place");
  for (int row = 0; row < tile.height; ++row)
    std::memcpy(into.at(x, y + row), tile.at(0, row), static_cast<std::size_t>(tile.width) * 3);
}

Image crop(const Image& image, int x, int y, int width, int height) {
  if (x < 0 || y < 0 || width < 0 || height < 0 || x + width > image.width || y + height > image.height)
    throw std::invalid_argument("crop: the rectangle lies outside the image");
  Image out(width, height);
  for (int row = 0; row < height; ++row)
    std::memcpy(out.at(0, row), image.at(x, y + row), static_cast<std::size_t>(width) * 3);
  return out;
}

void to_signed_unit_chw(const std::uint8_t* hwc, int width, int height, bool flip, float* chw) {
  const std::size_t plane = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const int sx = flip ? width - 1 - x : x;
      const std::uint8_t* p = hwc + (static_cast<std::size_t>(y) * static_cast<std::size_t>(width) + static_cast<std::size_t>(sx)) * 3;
      const std::size_t at = static_cast<std::size_t>(y) * static_cast<std::size_t>(width) + static_cast<std::size_t>(x);
      for (int c = 0; c < 3; ++c) chw[static_cast<std::size_t>(c) * plane + at] = p[c] / 127.5f - 1.0f;
    }
  }
}

} // namespace t2i::data
