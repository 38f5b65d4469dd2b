// The cascade file's document (t2i/sample.h: Cascade, read_cascade, write_cascade): parsing from
// text and writing to text, apart from the file system, for the reader's fuzz target and tests.
#pragma once

#include "t2i/sample.h"

#include <string>

namespace t2i::sample {

/// Parses cascade JSON text. `origin` names it in errors; relative checkpoints resolve against
/// `folder`. Checks that each checkpoint exists only when `check_files`.
Cascade parse_cascade(const std::string& json_text, const std::string& origin, const std::string& folder,
                      bool check_files = true);

/// The document write_cascade writes, checkpoints inside `folder` relative to it.
std::string cascade_to_json(const Cascade& cascade, const std::string& folder);

} // namespace t2i::sample
