// The EXIF orientation tag (0x0112), read from a JPEG APP1 segment or a PNG eXIf chunk. Cameras
// store pixels as the sensor saw them and this tag says how to turn them for display; we parse
// just the TIFF header and IFD0, which is all the tag needs.
#pragma once

#include <cstddef>
#include <cstdint>

namespace t2i::data {

/// The orientation (1–8) in TIFF-structured EXIF data (starting at the "II"/"MM" byte-order mark);
/// 1 (as stored) when the data is malformed or has no valid tag.
int exif_orientation_from_tiff(const std::uint8_t* data, std::size_t size);

/// The same from a JPEG APP1 payload, which starts with "Exif\0\0"; 1 for other APP1 payloads (XMP).
int exif_orientation_from_app1(const std::uint8_t* data, std::size_t size);

} // namespace t2i::data
