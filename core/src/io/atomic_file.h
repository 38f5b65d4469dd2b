// Writing a file so that readers see either the old or the complete new content, never a torn one.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace t2i::io {

/// Writes to a temporary file beside `path`; commit() flushes it to disk and renames it over
/// `path`. Destroyed without commit() (an error on the way), it removes the temporary file and
/// leaves `path` untouched. Errors are TensorFileErrors naming `path`.
class AtomicFile {
public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t size);
  void commit();

private:
  [[noreturn]] void fail_with_errno(const std::string& action);

  std::string path_;
  std::string temporary_;
  int fd_ = -1;
  bool committed_ = false;
};

/// Replaces `path` with `bytes` through an AtomicFile.
void write_file_atomically(const std::string& path, std::string_view bytes);

/// Deletes the temporary files in `directory` that AtomicFiles of processes no longer running left
/// behind (a writer killed mid-write cannot remove its own); a running writer's are kept. Returns
/// how many it deleted.
int remove_abandoned_temporaries(const std::string& directory);

} // namespace t2i::io
