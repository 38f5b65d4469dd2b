#include "data/demo_scene.h"

#include <cctype>

namespace t2i::data::demo {

const ColourInfo& info(Colour colour) {
  // Hues 0°, 30°, 54°, 129°, 222°, 278°: at least 24° apart, so hue alone names the colour.
  static const ColourInfo palette[] = {
      {"red", {225, 35, 35}},   {"orange", {245, 135, 25}}, {"yellow", {235, 215, 30}},
      {"green", {40, 175, 60}}, {"blue", {40, 95, 225}},     {"purple", {150, 55, 205}},
  };
  return palette[static_cast<int>(colour)];
}

double extent(Size size) { return size == Size::Small ? kSmallExtent : kLargeExtent; }

const char* name(Shape shape) {
  switch (shape) {
    case Shape::Circle: return "circle";
    case Shape::Square: return "square";
    case Shape::Triangle: return "triangle";
  }
  return "circle";
}

const char* name(Size size) { return size == Size::Small ? "small" : "large"; }

Relation inverse(Relation relation) {
  switch (relation) {
    case Relation::LeftOf: return Relation::RightOf;
    case Relation::RightOf: return Relation::LeftOf;
    case Relation::Above: return Relation::Below;
    case Relation::Below: return Relation::Above;
  }
  return relation;
}

namespace {

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::string word;
  for (const char c : text) {
    if (std::isalpha(static_cast<unsigned char>(c)) != 0) {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!word.empty()) {
      out.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) out.push_back(std::move(word));
  return out;
}

std::optional<Colour> colour_word(const std::string& w) {
  for (Colour c : kColours)
    if (w == info(c).name) return c;
  if (w == "violet") return Colour::Purple;
  return std::nullopt;
}

std::optional<Shape> shape_word(const std::string& w) {
  for (Shape s : kShapes)
    if (w == name(s)) return s;
  return std::nullopt;
}

std::optional<Size> size_word(const std::string& w) {
  if (w == "small" || w == "little" || w == "tiny") return Size::Small;
  if (w == "large" || w == "big") return Size::Large;
  return std::nullopt;
}

} // namespace

std::optional<Description> parse_caption(const std::string& caption) {
  const std::vector<std::string> w = words(caption);
  Description d;
  std::vector<std::size_t> object_at;  // word index of each object's colour
  std::vector<std::pair<std::size_t, Relation>> relations;
  std::optional<Place> place;
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (const auto colour = colour_word(w[i]); colour && i + 1 < w.size()) {
      if (const auto shape = shape_word(w[i + 1])) {
        ObjectPhrase object;
        object.colour = *colour;
        object.shape = *shape;
        if (i > 0) object.size = size_word(w[i - 1]);
        d.objects.push_back(object);
        object_at.push_back(i);
        ++i;
        continue;
      }
    }
    const bool of_follows = i + 1 < w.size() && w[i + 1] == "of";
    if (w[i] == "above" || w[i] == "over") relations.emplace_back(i, Relation::Above);
    else if (w[i] == "below" || w[i] == "under" || w[i] == "beneath") relations.emplace_back(i, Relation::Below);
    else if (w[i] == "left" && of_follows) relations.emplace_back(i, Relation::LeftOf);
    else if (w[i] == "right" && of_follows) relations.emplace_back(i, Relation::RightOf);
    else if (place) continue;
    else if (w[i] == "left") place = Place::Left;
    else if (w[i] == "right") place = Place::Right;
    else if (w[i] == "top") place = Place::Top;
    else if (w[i] == "bottom") place = Place::Bottom;
    else if (w[i] == "centre" || w[i] == "center" || w[i] == "middle") place = Place::Centre;
  }
  if (d.objects.size() == 1) {
    // "on the left of the image": a relation word with nothing to relate to names a place.
    if (!place && !relations.empty()) {
      switch (relations.front().second) {
        case Relation::LeftOf: place = Place::Left; break;
        case Relation::RightOf: place = Place::Right; break;
        case Relation::Above: place = Place::Top; break;
        case Relation::Below: place = Place::Bottom; break;
      }
    }
    d.place = place;
    return d;
  }
  if (d.objects.size() != 2 || d.objects[0].colour == d.objects[1].colour) return std::nullopt;
  for (const auto& [at, relation] : relations) {
    if (at > object_at[0] && at < object_at[1]) {
      d.relation = relation;
      return d;
    }
  }
  return std::nullopt;
}

} // namespace t2i::data::demo
