#include "data/demo_checker.h"

#include "data/data_error.h"
#include "data/demo_scene.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <vector>

namespace t2i::data {

namespace demo {

namespace {

// Below this chroma (max − min channel, out of 255) a pixel counts as background grey.
constexpr float kMinChroma = 16;
// At or above this chroma a pixel is coloured for the background measure: a quarter of the
// weakest palette colour's (green, 135), so an object's faint rim still belongs to it.
constexpr int kRimChroma = 32;
// A coloured blob this large is an object, not grain.
constexpr std::size_t kMinBlobPixels = 6;
// Coverage below this counts as none, above 1 − this as full.
constexpr double kFaint = 0.25;
// A pixel belongs to a colour's object when at least half its chroma is there (half coverage).
constexpr float kObjectAmount = 0.5f;
// A colour is present when its largest blob covers this share of a small triangle's area.
constexpr double kMinAreaShare = 0.35;
// An apex-up triangle's centre of mass lies a sixth of its height below the middle of its extent;
// a circle's and a square's lie at the middle.
constexpr double kTriangleDrop = 1.0 / 12;
// Of the others, fill of the extent tells them apart: square 1, circle π/4 ≈ 0.785.
constexpr double kSquareFill = 0.89;
// An object's offset must be at least this (fraction of the side) to count as left/right/…
constexpr double kMinOffset = 0.1;
constexpr double kCentreTolerance = 0.12;

double hue_degrees(double r, double g, double b) {
  const double mx = std::max({r, g, b});
  const double mn = std::min({r, g, b});
  const double c = mx - mn;
  double h = 0;
  if (mx == r) h = std::fmod((g - b) / c, 6.0);
  else if (mx == g) h = (b - r) / c + 2;
  else h = (r - g) / c + 4;
  h *= 60;
  return h < 0 ? h + 360 : h;
}

struct PaletteEntry {
  double hue;
  double chroma;
};

const std::array<PaletteEntry, kColours.size()>& palette() {
  static const auto entries = [] {
    std::array<PaletteEntry, kColours.size()> out{};
    for (std::size_t i = 0; i < kColours.size(); ++i) {
      const std::uint8_t* rgb = info(kColours[i]).rgb;
      out[i] = {hue_degrees(rgb[0], rgb[1], rgb[2]), static_cast<double>(std::max({rgb[0], rgb[1], rgb[2]}) - std::min({rgb[0], rgb[1], rgb[2]}))};
    }
    return out;
  }();
  return entries;
}

// Each pixel's palette colour (−1 for grey) and how much of it (0–1), by hue: blending with the
// grey background scales chroma but keeps hue.
struct ColourMap {
  int width = 0;
  int height = 0;
  std::vector<int> colour;
  std::vector<float> amount;
};

ColourMap classify(const std::uint8_t* rgb, int width, int height) {
  ColourMap map{width, height, std::vector<int>(static_cast<std::size_t>(width) * static_cast<std::size_t>(height), -1),
                std::vector<float>(static_cast<std::size_t>(width) * static_cast<std::size_t>(height), 0.0f)};
  for (std::size_t i = 0; i < map.colour.size(); ++i) {
    const double r = rgb[3 * i];
    const double g = rgb[3 * i + 1];
    const double b = rgb[3 * i + 2];
    const double chroma = std::max({r, g, b}) - std::min({r, g, b});
    if (chroma < kMinChroma) continue;
    const double hue = hue_degrees(r, g, b);
    int best = 0;
    double best_distance = 360;
    for (std::size_t c = 0; c < palette().size(); ++c) {
      const double d = std::abs(hue - palette()[c].hue);
      const double distance = std::min(d, 360 - d);
      if (distance < best_distance) {
        best_distance = distance;
        best = static_cast<int>(c);
      }
    }
    // Coverage, with a ramp symmetric about one half: a faint hue (sensor-like noise on the grey, a
    // model's haze) counts as nothing, while the half-coverage contour, and so the measured area
    // of an anti-aliased shape, stays where it was.
    const double coverage = chroma / palette()[static_cast<std::size_t>(best)].chroma;
    map.colour[i] = best;
    map.amount[i] = static_cast<float>(std::clamp((coverage - kFaint) / (1 - 2 * kFaint), 0.0, 1.0));
  }
  return map;
}

struct Measured {
  bool present = false;
  Shape shape = Shape::Circle;
  Size size = Size::Small;
  double cx = 0;  // fractions of the side
  double cy = 0;
};

struct TopTwo {
  double first = 0;
  double second = 0;
  void add(double v) {
    if (v > first) second = first, first = v;
    else if (v > second) second = v;
  }
  double mean() const { return (first + second) / 2; }
};

// The largest 4-connected blob of `colour`, measured: its extent from the row and column
// profiles of coverage (exact for sub-pixel edges), its centre of mass and its fill of that
// extent, which give its shape, and the centre of its extent.
Measured measure(const ColourMap& map, int colour) {
  const int w = map.width;
  const int h = map.height;
  auto is_object = [&](int x, int y) {
    const std::size_t i = static_cast<std::size_t>(y) * static_cast<std::size_t>(w) + static_cast<std::size_t>(x);
    return map.colour[i] == colour && map.amount[i] >= kObjectAmount;
  };
  std::vector<int> label(static_cast<std::size_t>(w) * static_cast<std::size_t>(h), -1);
  std::size_t best_area = 0;
  int bx0 = 0, by0 = 0, bx1 = -1, by1 = -1;
  std::vector<std::pair<int, int>> stack;
  int next_label = 0;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      if (!is_object(x, y) || label[static_cast<std::size_t>(y * w + x)] >= 0) continue;
      std::size_t area = 0;
      int x0 = x, x1 = x, y0 = y, y1 = y;
      stack.assign(1, {x, y});
      label[static_cast<std::size_t>(y * w + x)] = next_label;
      while (!stack.empty()) {
        const auto [px, py] = stack.back();
        stack.pop_back();
        ++area;
        x0 = std::min(x0, px), x1 = std::max(x1, px), y0 = std::min(y0, py), y1 = std::max(y1, py);
        const int neighbours[4][2] = {{px - 1, py}, {px + 1, py}, {px, py - 1}, {px, py + 1}};
        for (const auto& n : neighbours) {
          if (n[0] < 0 || n[1] < 0 || n[0] >= w || n[1] >= h || !is_object(n[0], n[1])) continue;
          int& l = label[static_cast<std::size_t>(n[1] * w + n[0])];
          if (l >= 0) continue;
          l = next_label;
          stack.emplace_back(n[0], n[1]);
        }
      }
      ++next_label;
      if (area > best_area) {
        best_area = area;
        bx0 = x0, bx1 = x1, by0 = y0, by1 = y1;
      }
    }
  }
  Measured m;
  const double side = std::min(w, h);
  const double small_triangle_area = 0.5 * std::pow(kSmallExtent * side, 2);
  if (static_cast<double>(best_area) < kMinAreaShare * small_triangle_area) return m;
  m.present = true;

  // The blob's box grown by one pixel, to take in the anti-aliased rim.
  bx0 = std::max(0, bx0 - 1), by0 = std::max(0, by0 - 1), bx1 = std::min(w - 1, bx1 + 1), by1 = std::min(h - 1, by1 + 1);
  // Profiles: the mean of the two largest coverages of each column and row. One stray pixel
  // cannot widen a profile by itself, while a straight edge keeps its fractional coverage.
  std::vector<TopTwo> columns(static_cast<std::size_t>(bx1 - bx0 + 1));
  std::vector<TopTwo> rows(static_cast<std::size_t>(by1 - by0 + 1));
  double area = 0;
  double mass_y = 0;
  for (int y = by0; y <= by1; ++y) {
    for (int x = bx0; x <= bx1; ++x) {
      const std::size_t i = static_cast<std::size_t>(y) * static_cast<std::size_t>(w) + static_cast<std::size_t>(x);
      const double a = map.colour[i] == colour ? map.amount[i] : 0.0;
      area += a;
      mass_y += a * (y + 0.5);
      columns[static_cast<std::size_t>(x - bx0)].add(a);
      rows[static_cast<std::size_t>(y - by0)].add(a);
    }
  }
  double width = 0, height = 0, sx = 0, sy = 0;
  for (std::size_t i = 0; i < columns.size(); ++i)
    width += columns[i].mean(), sx += columns[i].mean() * (bx0 + static_cast<double>(i) + 0.5);
  for (std::size_t i = 0; i < rows.size(); ++i)
    height += rows[i].mean(), sy += rows[i].mean() * (by0 + static_cast<double>(i) + 0.5);
  const double drop = (mass_y / area - sy / height) / height;
  const double fill = area / (width * height);
  m.shape = drop > kTriangleDrop ? Shape::Triangle : fill >= kSquareFill ? Shape::Square : Shape::Circle;
  m.size = std::max(width, height) / side < (kSmallExtent + kLargeExtent) / 2 ? Size::Small : Size::Large;
  m.cx = sx / width / w;
  m.cy = sy / height / h;
  return m;
}

bool place_holds(Place place, double cx, double cy) {
  const double dx = cx - 0.5;
  const double dy = cy - 0.5;
  switch (place) {
    case Place::Left: return -dx >= kMinOffset && -dx > std::abs(dy);
    case Place::Right: return dx >= kMinOffset && dx > std::abs(dy);
    case Place::Top: return -dy >= kMinOffset && -dy > std::abs(dx);
    case Place::Bottom: return dy >= kMinOffset && dy > std::abs(dx);
    case Place::Centre: return std::abs(dx) < kCentreTolerance && std::abs(dy) < kCentreTolerance;
  }
  return false;
}

const char* place_name(Place place) {
  switch (place) {
    case Place::Left: return "left";
    case Place::Right: return "right";
    case Place::Top: return "top";
    case Place::Bottom: return "bottom";
    case Place::Centre: return "centre";
  }
  return "";
}

bool relation_holds(Relation relation, const Measured& a, const Measured& b) {
  const bool horizontal = relation == Relation::LeftOf || relation == Relation::RightOf;
  double along = horizontal ? b.cx - a.cx : b.cy - a.cy;  // positive: a is left of / above b
  if (relation == Relation::RightOf || relation == Relation::Below) along = -along;
  const double across = horizontal ? std::abs(b.cy - a.cy) : std::abs(b.cx - a.cx);
  return along >= kMinOffset && along > across;
}

DemoCheck check_rgb(const std::uint8_t* rgb, int width, int height, const std::string& caption) {
  DemoCheck check;
  const std::optional<Description> description = parse_caption(caption);
  if (!description || width <= 0 || height <= 0) {
    check.detail = description ? "empty image" : "caption not in the demo vocabulary";
    return check;
  }
  check.parsed = true;
  const ColourMap map = classify(rgb, width, height);
  std::array<Measured, kColours.size()> found;
  for (std::size_t c = 0; c < kColours.size(); ++c) found[c] = measure(map, static_cast<int>(c));

  std::string detail;
  auto note = [&](const std::string& text) { detail += (detail.empty() ? "" : "; ") + text; };
  check.colour_ok = true;
  for (std::size_t c = 0; c < kColours.size(); ++c) {
    const bool named = std::any_of(description->objects.begin(), description->objects.end(),
                                   [&](const ObjectPhrase& o) { return static_cast<std::size_t>(o.colour) == c; });
    if (named == found[c].present) continue;
    check.colour_ok = false;
    note(std::string(info(kColours[c]).name) + (named ? " missing" : " not in the caption"));
  }
  check.shape_ok = true;
  check.size_ok = true;
  for (const ObjectPhrase& o : description->objects) {
    const Measured& m = found[static_cast<std::size_t>(o.colour)];
    const std::string colour = info(o.colour).name;
    if (!m.present) {
      check.shape_ok = false;
      if (o.size) check.size_ok = false;
      continue;
    }
    if (m.shape != o.shape) {
      check.shape_ok = false;
      note(colour + " is a " + name(m.shape) + ", not a " + name(o.shape));
    }
    if (o.size && m.size != *o.size) {
      check.size_ok = false;
      note(colour + " is " + name(m.size) + ", not " + name(*o.size));
    }
  }
  const Measured& first = found[static_cast<std::size_t>(description->objects[0].colour)];
  if (description->objects.size() == 1) {
    check.layout_ok = first.present && (!description->place || place_holds(*description->place, first.cx, first.cy));
    if (first.present && !check.layout_ok) note(std::string(info(description->objects[0].colour).name) + " is not at the " + place_name(*description->place));
  } else {
    const Measured& second = found[static_cast<std::size_t>(description->objects[1].colour)];
    check.layout_ok = first.present && second.present && relation_holds(*description->relation, first, second);
    if (first.present && second.present && !check.layout_ok) note("the relation between the objects does not hold");
  }
  check.detail = detail;
  return check;
}

} // namespace

DemoCheck check_image(const torch::Tensor& image, const std::string& caption) {
  torch::Tensor hwc;
  if (image.dim() == 3 && image.size(0) == 3 && image.is_floating_point()) {
    hwc = ((image.detach().to(torch::kCPU, torch::kFloat32) + 1) * 127.5).round().clamp(0, 255).to(torch::kUInt8).permute({1, 2, 0});
  } else if (image.dim() == 3 && image.size(2) == 3 && image.scalar_type() == torch::kUInt8) {
    hwc = image.to(torch::kCPU);
  } else {
    throw DataError("demo checker: expected a [3, H, W] float image in [-1, 1] or an [H, W, 3] uint8 image");
  }
  hwc = hwc.contiguous();
  return check_rgb(hwc.data_ptr<std::uint8_t>(), static_cast<int>(hwc.size(1)), static_cast<int>(hwc.size(0)), caption);
}

namespace {

double background_noise(const std::uint8_t* rgb, int width, int height) {
  const int w = width;
  const int h = height;
  const auto at = [w](int x, int y) { return static_cast<std::size_t>(y) * static_cast<std::size_t>(w) + static_cast<std::size_t>(x); };
  std::vector<char> coloured(static_cast<std::size_t>(w) * static_cast<std::size_t>(h), 0);
  for (std::size_t i = 0; i < coloured.size(); ++i) {
    const std::uint8_t* p = rgb + 3 * i;
    coloured[i] = std::max({p[0], p[1], p[2]}) - std::min({p[0], p[1], p[2]}) >= kRimChroma;
  }
  // Objects: blobs of coloured pixels large enough not to be grain. Isolated coloured specks are
  // the noise being measured, so they stay in the background.
  std::vector<char> object(coloured.size(), 0);
  std::vector<char> seen(coloured.size(), 0);
  std::vector<std::pair<int, int>> stack, blob;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      if (!coloured[at(x, y)] || seen[at(x, y)]) continue;
      blob.clear();
      stack.assign(1, {x, y});
      seen[at(x, y)] = 1;
      while (!stack.empty()) {
        const auto [px, py] = stack.back();
        stack.pop_back();
        blob.emplace_back(px, py);
        const int neighbours[4][2] = {{px - 1, py}, {px + 1, py}, {px, py - 1}, {px, py + 1}};
        for (const auto& n : neighbours) {
          if (n[0] < 0 || n[1] < 0 || n[0] >= w || n[1] >= h) continue;
          const std::size_t i = at(n[0], n[1]);
          if (!coloured[i] || seen[i]) continue;
          seen[i] = 1;
          stack.emplace_back(n[0], n[1]);
        }
      }
      if (blob.size() < kMinBlobPixels) continue;
      // The blob grown by one pixel: its faint anti-aliased rim is part of the object.
      for (const auto& [bx, by] : blob)
        for (int dy = -1; dy <= 1; ++dy)
          for (int dx = -1; dx <= 1; ++dx)
            if (bx + dx >= 0 && by + dy >= 0 && bx + dx < w && by + dy < h) object[at(bx + dx, by + dy)] = 1;
    }
  }
  double sum = 0, sum_sq = 0;
  std::size_t count = 0;
  for (std::size_t i = 0; i < object.size(); ++i) {
    if (object[i]) continue;
    for (int c = 0; c < 3; ++c) {
      const double v = rgb[3 * i + static_cast<std::size_t>(c)];
      sum += v;
      sum_sq += v * v;
      ++count;
    }
  }
  if (count == 0) return std::nan("");
  const double mean = sum / static_cast<double>(count);
  return std::sqrt(std::max(0.0, sum_sq / static_cast<double>(count) - mean * mean));
}

} // namespace

} // namespace demo

DemoCheck check_demo_image(const std::uint8_t* rgb, int width, int height, const std::string& caption) {
  return demo::check_rgb(rgb, width, height, caption);
}

double demo_background_noise(const std::uint8_t* rgb, int width, int height) {
  if (width <= 0 || height <= 0) return std::nan("");
  return demo::background_noise(rgb, width, height);
}

} // namespace t2i::data
