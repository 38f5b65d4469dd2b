#include "data/demo_dataset.h"

#include "data/data_error.h"
#include "data/parallel_for.h"
#include "data/png_write.h"

#include "t2i/data.h"
#include "t2i/log.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace t2i::data {

namespace demo {

namespace {

constexpr double kMargin = 0.02;  // free border around every object, fraction of the side
constexpr double kGap = 0.04;     // least free space between two objects along their relation
constexpr double kJitter = 0.04;  // random offset of a single object from its place's anchor
constexpr double kPerpendicularSpread = 0.1;  // two objects stay within ±this of the middle across their axis

template <typename T, std::size_t N>
T pick(const std::array<T, N>& values, StableRng& rng) {
  return values[rng.below(N)];
}

double clamp_into_frame(double centre, double extent_fraction) {
  const double half = extent_fraction / 2;
  return std::clamp(centre, half + kMargin, 1.0 - half - kMargin);
}

// Signed distance in pixels from an object's bounding-box centre (negative inside).
double signed_distance(Shape shape, double px, double py, double half) {
  switch (shape) {
    case Shape::Circle: return std::hypot(px, py) - half;
    case Shape::Square: return std::max(std::abs(px), std::abs(py)) - half;
    case Shape::Triangle: {
      // Apex (0, −half), base y = +half from x = −half to +half; the slanted edges have outward
      // normals (∓2, −1)/√5.
      const double base = py - half;
      const double left = (-2 * px - (py + half)) / std::sqrt(5.0);
      const double right = (2 * px - (py + half)) / std::sqrt(5.0);
      return std::max({base, left, right});
    }
  }
  return 0;
}

const char* relation_phrase(Relation relation, bool alternative) {
  switch (relation) {
    case Relation::LeftOf: return alternative ? "left of" : "to the left of";
    case Relation::RightOf: return alternative ? "right of" : "to the right of";
    case Relation::Above: return alternative ? "over" : "above";
    case Relation::Below: return alternative ? "under" : "below";
  }
  return "";
}

const char* place_phrase(Place place, bool alternative) {
  switch (place) {
    case Place::Left: return alternative ? "on the left side" : "on the left";
    case Place::Right: return alternative ? "on the right side" : "on the right";
    case Place::Top: return alternative ? "near the top" : "at the top";
    case Place::Bottom: return alternative ? "near the bottom" : "at the bottom";
    case Place::Centre: return alternative ? "in the middle" : "in the centre";
  }
  return "";
}

std::string noun_phrase(const Object& o, bool with_size) {
  return (with_size ? std::string(name(o.size)) + " " : std::string()) + info(o.colour).name + " " + name(o.shape);
}

std::string with_article(const std::string& phrase) {
  return (std::string("aeiou").find(phrase.front()) != std::string::npos ? "an " : "a ") + phrase;
}

} // namespace

Scene random_scene(StableRng& rng) {
  Scene scene;
  Object a{pick(kColours, rng), pick(kShapes, rng), pick(kSizes, rng)};
  if (rng.below(2) == 0) {
    scene.place = pick(kPlaces, rng);
    double cx = scene.place == Place::Left ? 0.25 : scene.place == Place::Right ? 0.75 : 0.5;
    double cy = scene.place == Place::Top ? 0.25 : scene.place == Place::Bottom ? 0.75 : 0.5;
    cx += (2 * rng.uniform() - 1) * kJitter;
    cy += (2 * rng.uniform() - 1) * kJitter;
    a.cx = clamp_into_frame(cx, extent(a.size));
    a.cy = clamp_into_frame(cy, extent(a.size));
    scene.objects = {a};
    return scene;
  }
  Object b{kColours[(static_cast<std::size_t>(a.colour) + 1 + rng.below(kColours.size() - 1)) % kColours.size()],
           pick(kShapes, rng), pick(kSizes, rng)};
  scene.relation = pick(kRelations, rng);
  const bool horizontal = scene.relation == Relation::LeftOf || scene.relation == Relation::RightOf;
  const bool a_lower = scene.relation == Relation::LeftOf || scene.relation == Relation::Above;
  Object& low = a_lower ? a : b;  // the object with the smaller coordinate along the axis
  Object& high = a_lower ? b : a;
  // Along the axis: the free span left after the objects and the gap is split at random between
  // the two outer margins, so the objects never overlap.
  const double low_min = extent(low.size) / 2 + kMargin;
  const double high_max = 1.0 - extent(high.size) / 2 - kMargin;
  const double slack = high_max - low_min - (extent(low.size) + extent(high.size)) / 2 - kGap;
  const double u = rng.uniform() * slack;
  const double v = rng.uniform() * (slack - u);
  const double low_along = low_min + u;
  const double high_along = high_max - v;
  auto across = [&](const Object& o) {
    const double lo = std::max(0.5 - kPerpendicularSpread, extent(o.size) / 2 + kMargin);
    const double hi = std::min(0.5 + kPerpendicularSpread, 1.0 - extent(o.size) / 2 - kMargin);
    return lo + rng.uniform() * (hi - lo);
  };
  const double low_across = across(low);
  const double high_across = across(high);
  (horizontal ? low.cx : low.cy) = low_along;
  (horizontal ? low.cy : low.cx) = low_across;
  (horizontal ? high.cx : high.cy) = high_along;
  (horizontal ? high.cy : high.cx) = high_across;
  scene.objects = {a, b};
  return scene;
}

Image draw_scene(const Scene& scene, int size) {
  Image image(size, size);
  std::fill(image.rgb.begin(), image.rgb.end(), kBackground);
  for (const Object& o : scene.objects) {
    const double half = extent(o.size) * size / 2;
    const double cx = o.cx * size;
    const double cy = o.cy * size;
    const int x0 = std::max(0, static_cast<int>(std::floor(cx - half - 1)));
    const int x1 = std::min(size - 1, static_cast<int>(std::ceil(cx + half + 1)));
    const int y0 = std::max(0, static_cast<int>(std::floor(cy - half - 1)));
    const int y1 = std::min(size - 1, static_cast<int>(std::ceil(cy + half + 1)));
    const std::uint8_t* rgb = info(o.colour).rgb;
    for (int y = y0; y <= y1; ++y) {
      for (int x = x0; x <= x1; ++x) {
        const double coverage = std::clamp(0.5 - signed_distance(o.shape, x + 0.5 - cx, y + 0.5 - cy, half), 0.0, 1.0);
        if (coverage <= 0) continue;
        std::uint8_t* p = image.at(x, y);
        for (int c = 0; c < 3; ++c) p[c] = static_cast<std::uint8_t>(p[c] * (1 - coverage) + rgb[c] * coverage + 0.5);
      }
    }
  }
  return image;
}

std::vector<std::string> describe_scene(const Scene& scene, int count, StableRng& rng) {
  constexpr std::size_t kTemplates = 6;
  std::array<std::size_t, kTemplates> order{};
  for (std::size_t i = 0; i < kTemplates; ++i) order[i] = i;
  for (std::size_t i = kTemplates - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);

  std::vector<std::string> captions;
  for (int k = 0; k < count; ++k) {
    const std::size_t t = order[static_cast<std::size_t>(k) % kTemplates];
    const bool alternative = rng.below(2) == 1;
    if (scene.objects.size() == 1) {
      const Object& o = scene.objects[0];
      const std::string place = place_phrase(scene.place, alternative);
      switch (t) {
        case 0: captions.push_back(with_article(noun_phrase(o, true)) + " " + place); break;
        case 1: captions.push_back(with_article(noun_phrase(o, false)) + " " + place); break;
        case 2: captions.push_back("there is " + with_article(noun_phrase(o, true)) + " " + place); break;
        case 3: captions.push_back(place + " there is " + with_article(noun_phrase(o, true))); break;
        case 4: captions.push_back("a single " + noun_phrase(o, true) + " " + place); break;
        default: captions.push_back(with_article(noun_phrase(o, true)) + " " + place + " of the image"); break;
      }
    } else {
      const Object& a = scene.objects[0];
      const Object& b = scene.objects[1];
      const std::string forward = relation_phrase(scene.relation, alternative);
      const std::string backward = relation_phrase(inverse(scene.relation), alternative);
      switch (t) {
        case 0: captions.push_back(with_article(noun_phrase(a, true)) + " " + forward + " " + with_article(noun_phrase(b, true))); break;
        case 1: captions.push_back(with_article(noun_phrase(a, false)) + " " + forward + " " + with_article(noun_phrase(b, false))); break;
        case 2: captions.push_back(with_article(noun_phrase(b, true)) + " " + backward + " " + with_article(noun_phrase(a, true))); break;
        case 3: captions.push_back("there is " + with_article(noun_phrase(a, true)) + " " + forward + " " + with_article(noun_phrase(b, false))); break;
        case 4: captions.push_back(with_article(noun_phrase(b, false)) + " " + backward + " " + with_article(noun_phrase(a, false))); break;
        default: captions.push_back(with_article(noun_phrase(a, true)) + " is " + forward + " " + with_article(noun_phrase(b, true))); break;
      }
    }
  }
  return captions;
}

} // namespace demo

namespace {

// Bump when scenes, drawing or phrasing change, so folders made by older code are regenerated.
constexpr int kDemoVersion = 1;

nlohmann::json demo_stamp(const DemoOptions& options) {
  return {{"version", kDemoVersion},
          {"images", options.images},
          {"image_size", options.image_size},
          {"seed", options.seed},
          {"captions_per_image", options.captions_per_image}};
}

std::string image_file_name(std::size_t i) {
  char name[32];
  std::snprintf(name, sizeof name, "demo_%06zu.png", i + 1);
  return name;
}

// Whether `annotations` is a complete demo dataset made with these options.
bool demo_present(const std::filesystem::path& annotations, const std::filesystem::path& images, const nlohmann::json& stamp,
                  std::size_t& captions) {
  std::ifstream in(annotations);
  if (!in) return false;
  const nlohmann::json root = nlohmann::json::parse(in, nullptr, false);
  if (root.is_discarded() || !root.is_object() || !root.contains("info") || root["info"].value("t2i_demo", nlohmann::json()) != stamp)
    return false;
  for (const auto& image : root.value("images", nlohmann::json::array())) {
    std::error_code error;
    if (!image.contains("file_name") || !image["file_name"].is_string() ||
        !std::filesystem::is_regular_file(images / image["file_name"].get<std::string>(), error))
      return false;
  }
  captions = root.value("annotations", nlohmann::json::array()).size();
  return true;
}

} // namespace

DemoDataset make_demo_dataset(const std::string& out_dir, const DemoOptions& options) {
  if (options.images == 0) throw DataError("demo dataset: at least one image is needed");
  if (options.image_size < 8 || options.image_size > 1024) throw DataError("demo dataset: image size must be in 8..1024");
  if (options.captions_per_image < 1) throw DataError("demo dataset: at least one caption per image is needed");
  const std::filesystem::path root(out_dir);
  const std::filesystem::path annotations = root / "annotations" / "captions_demo.json";
  const std::filesystem::path images_dir = root / "images";
  DemoDataset result;
  result.source = Source{annotations.string(), images_dir.string()};
  result.images = options.images;
  const nlohmann::json stamp = demo_stamp(options);
  if (demo_present(annotations, images_dir, stamp, result.captions)) {
    result.reused = true;
    return result;
  }

  std::error_code error;
  std::filesystem::create_directories(images_dir, error);
  if (!error) std::filesystem::create_directories(annotations.parent_path(), error);
  if (error) throw DataError(out_dir, "cannot create folders (" + error.message() + ")");
  // Removed first: the annotations file appears last, and its presence marks a complete dataset.
  std::filesystem::remove(annotations, error);

  std::vector<std::vector<std::string>> captions(options.images);
  parallel_for(options.images, options.threads, [&](std::size_t i) {
    StableRng rng(mix64(options.seed, i));
    const demo::Scene scene = demo::random_scene(rng);
    write_png((images_dir / image_file_name(i)).string(), demo::draw_scene(scene, options.image_size));
    captions[i] = demo::describe_scene(scene, options.captions_per_image, rng);
  });

  nlohmann::json info = {{"description", "t2i-studio demo dataset: procedurally drawn coloured shapes"},
                         {"version", "1.0"},
                         {"t2i_demo", stamp}};
  nlohmann::json images = nlohmann::json::array();
  nlohmann::json annotation_list = nlohmann::json::array();
  for (std::size_t i = 0; i < options.images; ++i) {
    images.push_back({{"id", i + 1},
                      {"file_name", image_file_name(i)},
                      {"width", options.image_size},
                      {"height", options.image_size}});
    for (const std::string& caption : captions[i])
      annotation_list.push_back({{"id", annotation_list.size() + 1}, {"image_id", i + 1}, {"caption", caption}});
  }
  result.captions = annotation_list.size();
  const nlohmann::json document = {{"info", info}, {"licenses", nlohmann::json::array()}, {"images", images}, {"annotations", annotation_list}};
  replace_file(annotations.string(), document.dump() + '\n');
  log::core()->info("demo dataset: {} images of {}x{} with {} captions in {}", options.images, options.image_size,
                    options.image_size, result.captions, out_dir);
  return result;
}

} // namespace t2i::data
