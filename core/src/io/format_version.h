// One versioning rule for every file t2i-studio writes (design.md §9). A document declares
// "format_version": "MAJOR.MINOR" and, when the program wrote it, "written_by".
// - A minor version only adds optional fields: an older reader loads such a file and warns about
//   the fields it does not know (they were added later), instead of refusing it.
// - A major version changes what existing fields mean: a reader refuses a newer major version
//   with a message naming both versions, and upgrades an older one one step per major version
//   (a function from N to N+1), so the reading code only ever sees the current layout.
// A document without a version was written by t2i-studio 0.1.0, before versions: 1.0.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace t2i::io {

struct FormatVersion {
  int major = 1;
  int minor = 0;
  std::string text() const;  ///< "MAJOR.MINOR"
};

/// "MAJOR.MINOR" (or "MAJOR"); throws naming `origin` when it is neither.
FormatVersion parse_format_version(const std::string& text, const std::string& origin);

/// One JSON-based on-disk format: its name in messages, the version this build writes, and the
/// upgrade steps from every older major version.
struct JsonFormat {
  std::string name;  ///< e.g. "preset", "checkpoint"
  FormatVersion current;
  /// upgrades[i] turns a document of major version i + 1 into one of major version i + 2;
  /// there are exactly current.major - 1 of them.
  std::vector<std::function<void(nlohmann::json&)>> upgrades;
};

/// What reading a document's version found.
struct VersionCheck {
  FormatVersion declared;     ///< as the file says (1.0 when it says nothing)
  bool newer_minor = false;   ///< written by a newer minor version: unknown fields are expected
};

/// Why a file of a newer major version cannot be read, for any format, JSON or binary:
/// "ORIGIN: written by WRITER (NAME format 3.0); this is t2i-studio Y, which reads NAME formats
/// up to 2.x". `writer` is the file's "written_by" ("" when it does not say); the caller adds
/// what the user can do about it (update t2i-studio, or rebuild a cache).
std::string newer_version_message(const std::string& format_name, const FormatVersion& current,
                                  const FormatVersion& declared, const std::string& writer, const std::string& origin);

/// Checks the version `document` declares (an object), throws for a newer major version
/// ("ORIGIN: written by t2i-studio X (preset format 3.0); this is t2i-studio Y, which reads
/// preset formats up to 2.x"), runs the upgrade steps from an older major version, and removes
/// "format_version" and "written_by" so the caller sees only the fields of the current layout.
VersionCheck upgrade_document(const JsonFormat& format, nlohmann::json& document, const std::string& origin);

/// A document of `format` read from text: parsed into `document` (throws "ORIGIN: not valid JSON:
/// …"), then upgrade_document.
VersionCheck parse_document(const JsonFormat& format, const std::string& text, const std::string& origin,
                            nlohmann::json& document);

/// A JSON value as an error message quotes it: its type and its first 40 characters
/// ("string \"sr.pt\"", "array [1,2]").
std::string describe_json(const nlohmann::json& value);

/// The two fields every written document starts with: {"format_version", "written_by"}.
void stamp_document(const JsonFormat& format, nlohmann::json& document);

/// "t2i-studio X.Y.Z", this build.
std::string writer_name();

} // namespace t2i::io
