#include "io/atomic_file.h"

#include "io/byte_reader.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace t2i::io {
namespace {

constexpr std::string_view kTemporaryMark = ".tmp-";

std::string directory_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

} // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  static std::atomic<unsigned> counter{0};
  temporary_ = path_ + std::string(kTemporaryMark) + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) fail_with_errno("cannot create the temporary file " + temporary_);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temporary_.c_str());
}

void AtomicFile::write(const void* data, size_t size) {
  const auto* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t written = ::write(fd_, bytes, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      fail_with_errno("cannot write");
    }
    bytes += written;
    size -= static_cast<size_t>(written);
  }
}

void AtomicFile::commit() {
  if (::fsync(fd_) != 0) fail_with_errno("cannot flush to disk");
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail_with_errno("cannot close");
  if (::rename(temporary_.c_str(), path_.c_str()) != 0) fail_with_errno("cannot replace the file");
  committed_ = true;
  // The rename itself is durable only once the directory entry is on disk.
  const int directory = ::open(directory_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (directory >= 0) {
    ::fsync(directory);
    ::close(directory);
  }
}

void write_file_atomically(const std::string& path, std::string_view bytes) {
  AtomicFile file(path);
  file.write(bytes.data(), bytes.size());
  file.commit();
}

int remove_abandoned_temporaries(const std::string& directory) {
  int removed = 0;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(directory, error)) {
    // <name>.tmp-<pid>-<counter>, as the constructor names them.
    const std::string name = entry.path().filename().string();
    const auto mark = name.rfind(kTemporaryMark);
    if (mark == std::string::npos) continue;
    long long pid = 0;
    unsigned counter = 0;
    char tail = 0;
    if (std::sscanf(name.c_str() + mark + kTemporaryMark.size(), "%lld-%u%c", &pid, &counter, &tail) != 2 || pid <= 0)
      continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // its writer may still be at work
    std::error_code ignored;
    if (std::filesystem::remove(entry.path(), ignored)) ++removed;
  }
  return removed;
}

void AtomicFile::fail_with_errno(const std::string& action) {
  fail(path_, action + ": " + std::strerror(errno));
}

} // namespace t2i::io
