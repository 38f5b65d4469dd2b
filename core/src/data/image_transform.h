// Geometry and value transforms of the image pipeline: EXIF orientation, resize of the shorter
// side with antialiasing plus centre crop, the uint8 → [−1, 1] mapping the model sees, and the
// block copies that lay images out in grids and sheets.
#pragma once

#include "t2i/image.h"

#include <cstdint>

namespace t2i::data {

/// Turns an image stored with EXIF orientation `orientation` (1–8) upright.
Image apply_orientation(const Image& image, int orientation);

/// Resizes so the shorter side is `size`, then keeps the centred size×size square. Triangle
/// (bilinear) filter whose support widens with the reduction factor, so downscaling averages every
/// source pixel instead of sampling a few (antialiasing); weights are renormalised at the borders.
/// Resampling only the centred square window in source coordinates does both steps at once, and
/// with sub-pixel precision.
Image resize_and_center_crop(const Image& image, int size);

/// `image` enlarged `factor` times, each pixel a factor × factor block (small samples stay crisp).
Image enlarged(const Image& image, int factor);

/// Copies `tile` into `into` with its top-left corner at (x, y); the tile must fit.
void paste(Image& into, const Image& tile, int x, int y);

/// The width × height rectangle of `image` whose top-left corner is (x, y); it must lie inside.
Image crop(const Image& image, int x, int y, int width, int height);

/// HWC uint8 → CHW float in [−1, 1] (x / 127.5 − 1), mirrored left–right when `flip`.
void to_signed_unit_chw(const std::uint8_t* hwc, int width, int height, bool flip, float* chw);

} // namespace t2i::data
