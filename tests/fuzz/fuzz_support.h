// What the fuzz targets share: a scratch file for readers that only take a path, and the rule
// that a reader may reject any input with a std::exception (a clear error) but nothing else.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include <unistd.h>

namespace t2i::fuzz {

/// A file of this process under $TMPDIR holding `data`, rewritten for each input.
inline const std::string& scratch_file(const std::uint8_t* data, std::size_t size, const char* suffix = "") {
  static const std::string path = [&] {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir != nullptr ? dir : "/tmp") + "/t2i-fuzz-" + std::to_string(getpid()) + suffix;
  }();
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) throw std::logic_error("cannot write the fuzz scratch file " + path);
  const bool written = size == 0 || std::fwrite(data, 1, size, file) == size;
  if (std::fclose(file) != 0 || !written) throw std::logic_error("cannot write the fuzz scratch file " + path);
  return path;
}

} // namespace t2i::fuzz
