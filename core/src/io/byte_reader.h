// Bounds-checked reading of the binary structures inside tensor files. Every parser reads
// through it, so an overrun anywhere becomes an error naming the file instead of a crash.
#pragma once

#include "io/tensor_file.h"

#include <cstdint>
#include <cstring>
#include <string>

namespace t2i::io {

/// Throws the one shape of every tensor-file error: "<file>: <problem>".
[[noreturn]] inline void fail(const std::string& file, const std::string& problem) {
  throw TensorFileError(file, problem);
}

/// A cursor over a byte range (little-endian integers); `what` names the field in errors.
class ByteReader {
public:
  ByteReader(const uint8_t* data, size_t size, std::string file) : data_(data), size_(size), file_(std::move(file)) {}

  const std::string& file() const { return file_; }
  size_t size() const { return size_; }
  size_t position() const { return position_; }
  size_t remaining() const { return size_ - position_; }

  void seek(size_t position, const char* what) {
    if (position > size_) fail(file_, std::string(what) + " lies beyond the end of the data");
    position_ = position;
  }

  /// The next `count` bytes; advances past them.
  const uint8_t* take(uint64_t count, const char* what) {
    if (count > remaining())
      fail(file_, "truncated: " + std::string(what) + " needs " + std::to_string(count) + " bytes at offset " +
                      std::to_string(position_) + ", only " + std::to_string(remaining()) + " left");
    const uint8_t* bytes = data_ + position_;
    position_ += static_cast<size_t>(count);
    return bytes;
  }

  uint8_t u8(const char* what) { return *take(1, what); }
  uint16_t u16(const char* what) { return static_cast<uint16_t>(little_endian(take(2, what), 2)); }
  uint32_t u32(const char* what) { return static_cast<uint32_t>(little_endian(take(4, what), 4)); }
  uint64_t u64(const char* what) { return little_endian(take(8, what), 8); }

  static uint64_t little_endian(const uint8_t* bytes, int count) {
    uint64_t value = 0;
    for (int i = count - 1; i >= 0; --i) value = (value << 8) | bytes[i];
    return value;
  }

private:
  const uint8_t* data_;
  size_t size_;
  size_t position_ = 0;
  std::string file_;
};

} // namespace t2i::io
