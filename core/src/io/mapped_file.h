// A tensor file mapped into memory, and tensors that view it without copying.
#pragma once

#include "io/byte_reader.h"

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>

namespace t2i::io {

/// A whole file mapped privately (copy-on-write): tensors over it may be modified in place
/// without touching the file, and pages are read from disk only when first used.
class MappedFile {
public:
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  ByteReader reader() const { return ByteReader(data_, size_, path_); }

private:
  MappedFile(std::string path, uint8_t* data, size_t size) : path_(std::move(path)), data_(data), size_(size) {}

  std::string path_;
  uint8_t* data_;
  size_t size_;
};

/// A 1-D tensor of `count` elements of `dtype` at byte `offset` of `file` (the caller has checked
/// the range). It keeps the mapping alive; data not aligned to its element size is copied instead,
/// since vectorised kernels may assume natural alignment.
torch::Tensor map_tensor(const std::shared_ptr<MappedFile>& file, size_t offset, torch::ScalarType dtype, int64_t count);

} // namespace t2i::io
