#include "data/exif_orientation.h"

#include <cstring>

namespace t2i::data {

int exif_orientation_from_tiff(const std::uint8_t* data, std::size_t size) {
  if (data == nullptr || size < 8) return 1;
  bool little_endian = false;
  if (data[0] == 'I' && data[1] == 'I') {
    little_endian = true;
  } else if (!(data[0] == 'M' && data[1] == 'M')) {
    return 1;
  }
  auto u16 = [&](std::size_t at) -> std::uint32_t {
    return little_endian ? data[at] | (data[at + 1] << 8) : (data[at] << 8) | data[at + 1];
  };
  auto u32 = [&](std::size_t at) -> std::uint32_t {
    return little_endian ? u16(at) | (u16(at + 2) << 16) : (u16(at) << 16) | u16(at + 2);
  };
  if (u16(2) != 42) return 1;  // TIFF 6.0: the magic number after the byte-order mark
  const std::size_t ifd0 = u32(4);
  if (ifd0 < 8 || ifd0 > size - 2) return 1;
  const std::size_t entries = u16(ifd0);
  for (std::size_t e = 0; e < entries; ++e) {
    const std::size_t at = ifd0 + 2 + 12 * e;  // tag, type, count, value/offset
    if (at > size - 12) return 1;
    if (u16(at) != 0x0112) continue;
    const std::uint32_t type = u16(at + 2);
    const std::uint32_t count = u32(at + 4);
    if (type != 3 || count < 1) return 1;  // SHORT; it fits in the value field
    const std::uint32_t value = u16(at + 8);
    return value >= 1 && value <= 8 ? static_cast<int>(value) : 1;
  }
  return 1;
}

int exif_orientation_from_app1(const std::uint8_t* data, std::size_t size) {
  static const std::uint8_t signature[6] = {'E', 'x', 'i', 'f', 0, 0};
  if (data == nullptr || size < sizeof signature || std::memcmp(data, signature, sizeof signature) != 0) return 1;
  return exif_orientation_from_tiff(data + sizeof signature, size - sizeof signature);
}

} // namespace t2i::data
