// Reading a whole (text or small binary) file: configs, presets, caption files, indexes.
#pragma once

#include <string>

namespace t2i::io {

/// The file's bytes, unchanged. Throws std::runtime_error "<path>: cannot open <what> (<reason>)"
/// or "<path>: cannot read <what>", where `what` names the file for the user ("the T5 config").
std::string read_text_file(const std::string& path, const std::string& what);

} // namespace t2i::io
