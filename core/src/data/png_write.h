// PNG output for the demo dataset's images and generated samples (libpng; deterministic bytes
// for the same pixels), with optional UTF-8 text metadata (iTXt chunks) that read_png_text
// gives back: generated images carry their prompt, seed and settings.
#pragma once

#include "t2i/image.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace t2i::data {

/// Text metadata: keyword → UTF-8 value, stored as PNG iTXt chunks.
using PngText = std::map<std::string, std::string>;

/// Encodes an RGB8 image as PNG, with `text` as iTXt chunks.
std::vector<std::uint8_t> encode_png(const Image& image, const PngText& text = {});

/// Writes an RGB8 image as a PNG file (a temporary file renamed into place). Throws DataError
/// naming the file.
void write_png(const std::string& path, const Image& image, const PngText& text = {});

/// The text chunks of a PNG file, before or after its image data. Throws DataError naming the file.
PngText read_png_text(const std::string& path);

} // namespace t2i::data
