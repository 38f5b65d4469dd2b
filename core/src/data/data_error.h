// The error every data module throws for unusable input.
#pragma once

#include "io/atomic_file.h"
#include "t2i/job.h"

#include <stdexcept>
#include <string>
#include <string_view>

namespace t2i::data {

/// Malformed or unusable input: the file and the problem, which names the position in the file
/// where it applies (line and column, or a JSON path such as `annotations[17].caption`). An
/// option out of range is a problem without a file.
class DataError : public job::Error {
public:
  DataError(const std::string& file, const std::string& problem) : job::Error(file, problem) {}
  explicit DataError(const std::string& problem) : job::Error({}, problem) {}
};

/// Runs `fn`, a call into the io foundation, with its std::runtime_errors rethrown as DataErrors,
/// so that callers of the data area catch one type.
template <class Fn>
decltype(auto) as_data_error(Fn&& fn) {
  try {
    return fn();
  } catch (const DataError&) {
    throw;
  } catch (const std::runtime_error& error) {
    throw DataError(error.what());
  }
}

/// Replaces `path` with `bytes` durably (io::write_file_atomically).
inline void replace_file(const std::string& path, std::string_view bytes) {
  as_data_error([&] { io::write_file_atomically(path, bytes); });
}

} // namespace t2i::data
