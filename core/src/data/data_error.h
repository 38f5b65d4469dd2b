// The error every data module throws for unusable input.
#pragma once

#include <stdexcept>

namespace t2i::data {

/// Malformed or unusable input; the message names the file and, where it applies, the position
/// in it (line and column, or a JSON path such as `annotations[17].caption`).
class DataError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

} // namespace t2i::data
