// The demo dataset's world, shared by the generator and the checker: a palette of colours whose
// hues are far apart on a neutral grey background, three shapes, two sizes, five places for one
// object and four relations between two, and the words captions use for each.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace t2i::data::demo {

enum class Colour { Red, Orange, Yellow, Green, Blue, Purple };
enum class Shape { Circle, Square, Triangle };
enum class Size { Small, Large };
enum class Place { Left, Right, Top, Bottom, Centre };
enum class Relation { LeftOf, RightOf, Above, Below };

constexpr std::array<Colour, 6> kColours = {Colour::Red, Colour::Orange, Colour::Yellow, Colour::Green, Colour::Blue, Colour::Purple};
constexpr std::array<Shape, 3> kShapes = {Shape::Circle, Shape::Square, Shape::Triangle};
constexpr std::array<Size, 2> kSizes = {Size::Small, Size::Large};
constexpr std::array<Place, 5> kPlaces = {Place::Left, Place::Right, Place::Top, Place::Bottom, Place::Centre};
constexpr std::array<Relation, 4> kRelations = {Relation::LeftOf, Relation::RightOf, Relation::Above, Relation::Below};

struct ColourInfo {
  const char* name;
  std::uint8_t rgb[3];
};
const ColourInfo& info(Colour colour);

/// The background grey. Blending a colour with a grey keeps its hue, so anti-aliased edges and
/// faded pixels still classify as their object's colour.
constexpr std::uint8_t kBackground = 128;

/// Object extents as fractions of the image side: the square's side, the circle's diameter, the
/// triangle's base and height.
constexpr double kSmallExtent = 0.28;
constexpr double kLargeExtent = 0.42;
double extent(Size size);

const char* name(Shape shape);
const char* name(Size size);

/// The relation seen from the other object ("A above B" = "B below A").
Relation inverse(Relation relation);

struct Object {
  Colour colour = Colour::Red;
  Shape shape = Shape::Circle;
  Size size = Size::Small;
  double cx = 0.5;  ///< centre of the bounding box, fractions of the image side
  double cy = 0.5;
};

/// One object at a place, or two objects with objects[0] <relation> objects[1]. Two objects
/// always have different colours, which is how the checker tells them apart.
struct Scene {
  std::vector<Object> objects;
  Place place = Place::Centre;
  Relation relation = Relation::LeftOf;
};

/// What a caption says about one object.
struct ObjectPhrase {
  std::optional<Size> size;
  Colour colour = Colour::Red;
  Shape shape = Shape::Circle;
};

/// What a caption says: one object (and maybe its place) or two objects and their relation.
struct Description {
  std::vector<ObjectPhrase> objects;
  std::optional<Place> place;
  std::optional<Relation> relation;
};

/// Parses a caption in the demo vocabulary (the generator's phrasings and simple variants:
/// "big"/"little", "over"/"under", "center"/"middle", any surrounding words). Nothing when it
/// does not name one or two objects of different colours, or two objects without a relation
/// between them.
std::optional<Description> parse_caption(const std::string& caption);

} // namespace t2i::data::demo
