#include "io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace t2i::io {

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    fail(path, "not a regular file");
  }
  const auto size = static_cast<size_t>(info.st_size);
  uint8_t* data = nullptr;
  if (size > 0) {
    // MAP_PRIVATE + PROT_WRITE: writes go to private copies of the pages, never to the file.
    void* mapping = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (mapping == MAP_FAILED) {
      const int error = errno;
      ::close(fd);
      fail(path, std::string("cannot map into memory: ") + std::strerror(error));
    }
    data = static_cast<uint8_t*>(mapping);
  }
  ::close(fd);  // the mapping stays valid without the descriptor
  return std::shared_ptr<MappedFile>(new MappedFile(path, data, size));
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

torch::Tensor map_tensor(const std::shared_ptr<MappedFile>& file, size_t offset, torch::ScalarType dtype, int64_t count) {
  const auto options = torch::TensorOptions().dtype(dtype);
  if (count == 0) return torch::empty({0}, options);
  uint8_t* address = file->data() + offset;
  if (reinterpret_cast<uintptr_t>(address) % c10::elementSize(dtype) != 0) {
    auto copy = torch::empty({count}, options);
    std::memcpy(copy.data_ptr(), address, static_cast<size_t>(count) * c10::elementSize(dtype));
    return copy;
  }
  std::shared_ptr<MappedFile> keep_alive = file;
  return torch::from_blob(
      address, {count}, [keep_alive](void*) mutable { keep_alive.reset(); }, options);
}

} // namespace t2i::io
