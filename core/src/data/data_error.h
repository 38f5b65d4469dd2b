// The error every data module throws for unusable input.
#pragma once

#include "io/atomic_file.h"

#include <stdexcept>
#include <string>
#include <string_view>

namespace t2i::data {

/// Malformed or unusable input; the message names the file and, where it applies, the position
/// in it (line and column, or a JSON path such as `annotations[17].caption`).
class DataError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
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
