#include "train/label_font.h"

#include <cctype>
#include <cstddef>

namespace t2i::train {
namespace {

constexpr int kColumns = 3;
constexpr int kRows = 5;

// Each glyph: 5 rows of 3 pixels, '#' = ink.
struct Glyph {
  char c;
  const char* rows;
};

constexpr Glyph kGlyphs[] = {
    {'0', "####.##.##.####"}, {'1', ".#.##..#..#.###"}, {'2', "###..#####..###"}, {'3', "###..#.##..####"},
    {'4', "#.##.####..#..#"}, {'5', "####..###..####"}, {'6', "####..####.####"}, {'7', "###..#.#..#..#."},
    {'8', "####.#####.####"}, {'9', "####.####..####"}, {'A', ".#.#.#####.##.#"}, {'B', "##.#.###.#.###."},
    {'C', ".###..#..#...##"}, {'D', "##.#.##.##.###."}, {'E', "####..##.#..###"}, {'F', "####..##.#..#.."},
    {'G', ".###..#.##.#.##"}, {'H', "#.##.#####.##.#"}, {'I', "###.#..#..#.###"}, {'J', "..#..#..##.#.#."},
    {'K', "#.##.###.#.##.#"}, {'L', "#..#..#..#..###"}, {'M', "#.########.##.#"}, {'N', "##.#.##.##.##.#"},
    {'O', ".#.#.##.##.#.#."}, {'P', "##.#.###.#..#.."}, {'Q', ".#.#.##.###..##"}, {'R', "##.#.###.#.##.#"},
    {'S', ".###...#...###."}, {'T', "###.#..#..#..#."}, {'U', "#.##.##.##.####"}, {'V', "#.##.##.##.#.#."},
    {'W', "#.##.########.#"}, {'X', "#.##.#.#.#.##.#"}, {'Y', "#.##.#.#..#..#."}, {'Z', "###..#.#.#..###"},
    {' ', "..............."}, {'.', ".............#."}, {'=', "...###...###..."},
    {'/', "..#..#.#.#..#.."}, {':', "....#.....#...."}, {'-', "......###......"}, {'?', "##...#.#.....#."},
};

const char* rows_of(char c) {
  const char wanted = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const Glyph& glyph : kGlyphs)
    if (glyph.c == wanted) return glyph.rows;
  return rows_of('?');
}

} // namespace

int label_width(const std::string& text, int scale) {
  return text.empty() ? 0 : static_cast<int>(text.size()) * (kColumns + 1) * scale - scale;
}

void draw_label(Image& image, int x, int y, const std::string& text, int scale, std::array<std::uint8_t, 3> colour) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char* rows = rows_of(text[i]);
    const int left = x + static_cast<int>(i) * (kColumns + 1) * scale;
    for (int r = 0; r < kRows; ++r)
      for (int c = 0; c < kColumns; ++c) {
        if (rows[r * kColumns + c] != '#') continue;
        for (int dy = 0; dy < scale; ++dy)
          for (int dx = 0; dx < scale; ++dx) {
            const int px = left + c * scale + dx;
            const int py = y + r * scale + dy;
            if (px < 0 || py < 0 || px >= image.width || py >= image.height) continue;
            std::uint8_t* pixel = image.at(px, py);
            pixel[0] = colour[0];
            pixel[1] = colour[1];
            pixel[2] = colour[2];
          }
      }
  }
}

} // namespace t2i::train
