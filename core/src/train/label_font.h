// Text for labelled images drawn without a GUI toolkit (the CLI's grids): a 3×5 pixel font of
// digits, letters (lower case drawn as upper case) and a little punctuation, scaled by whole
// factors so it stays crisp.
#pragma once

#include "t2i/image.h"

#include <array>
#include <cstdint>
#include <string>

namespace t2i::train {

/// Pixels `text` takes at `scale`: 4 × scale per character (3 columns and a gap), 5 × scale high.
int label_width(const std::string& text, int scale);
inline int label_height(int scale) { return 5 * scale; }

/// Draws `text` with its top-left corner at (x, y), clipped to `image`. Characters the font lacks
/// are drawn as '?'.
void draw_label(Image& image, int x, int y, const std::string& text, int scale, std::array<std::uint8_t, 3> colour);

} // namespace t2i::train
