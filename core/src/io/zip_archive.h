// The zip container of torch.save files. PyTorch stores every record uncompressed (and aligned),
// so a record is simply a byte range of the file and storages can be mapped in place; hence a
// small central-directory reader here instead of a general zip library, which would hand out
// decompressed copies.
#pragma once

#include "io/byte_reader.h"

#include <cstdint>
#include <string>
#include <vector>

namespace t2i::io {

struct ZipRecord {
  std::string name;
  uint64_t offset = 0;  ///< of the record's bytes in the file
  uint64_t size = 0;
};

/// Whether the bytes start with a zip local-file header.
bool looks_like_zip(const uint8_t* data, size_t size);

/// The stored records of a zip file (zip64 included), every range checked against the file.
std::vector<ZipRecord> read_zip_directory(ByteReader file);

} // namespace t2i::io
