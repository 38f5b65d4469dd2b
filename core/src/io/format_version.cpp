#include "io/format_version.h"

#include "t2i/version.h"

#include <cstdio>
#include <stdexcept>

namespace t2i::io {

std::string FormatVersion::text() const { return std::to_string(major) + "." + std::to_string(minor); }

FormatVersion parse_format_version(const std::string& text, const std::string& origin) {
  FormatVersion version;
  char tail = 0;
  const int fields = std::sscanf(text.c_str(), "%d.%d%c", &version.major, &version.minor, &tail);
  if (fields == 1 && text.find('.') == std::string::npos) version.minor = 0;
  else if (fields != 2) throw std::runtime_error(origin + ": format_version \"" + text + "\" is not MAJOR.MINOR");
  if (version.major < 1 || version.minor < 0)
    throw std::runtime_error(origin + ": format_version \"" + text + "\" is not a released version");
  return version;
}

std::string writer_name() { return std::string(kProjectName) + " " + kVersion; }

std::string newer_version_message(const std::string& format_name, const FormatVersion& current,
                                  const FormatVersion& declared, const std::string& writer, const std::string& origin) {
  return origin + ": written by " + (writer.empty() ? "a newer t2i-studio" : writer) + " (" + format_name + " format " +
         declared.text() + "); this is " + writer_name() + ", which reads " + format_name + " formats up to " +
         std::to_string(current.major) + ".x";
}

VersionCheck upgrade_document(const JsonFormat& format, nlohmann::json& document, const std::string& origin) {
  if (!document.is_object()) throw std::runtime_error(origin + ": expected a JSON object, got " + document.type_name());
  VersionCheck check;
  if (const auto found = document.find("format_version"); found != document.end()) {
    if (!found->is_string() && !found->is_number())
      throw std::runtime_error(origin + ": field 'format_version': expected \"MAJOR.MINOR\", got " + found->dump());
    check.declared = parse_format_version(found->is_string() ? found->get<std::string>() : found->dump(), origin);
  }
  const std::string writer = document.value("written_by", std::string());
  document.erase("format_version");
  document.erase("written_by");
  const FormatVersion& current = format.current;
  if (check.declared.major > current.major)
    throw std::runtime_error(newer_version_message(format.name, current, check.declared, writer, origin) +
                             ": update t2i-studio to read it");
  check.newer_minor = check.declared.major == current.major && check.declared.minor > current.minor;
  for (int major = check.declared.major; major < current.major; ++major)
    format.upgrades.at(static_cast<size_t>(major - 1))(document);
  return check;
}

VersionCheck parse_document(const JsonFormat& format, const std::string& text, const std::string& origin,
                            nlohmann::json& document) {
  try {
    document = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw std::runtime_error(origin + ": not valid JSON: " + e.what());
  }
  return upgrade_document(format, document, origin);
}

std::string describe_json(const nlohmann::json& value) {
  const std::string text = value.dump();
  return std::string(value.type_name()) + " " + (text.size() > 40 ? text.substr(0, 40) + "…" : text);
}

void stamp_document(const JsonFormat& format, nlohmann::json& document) {
  document["format_version"] = format.current.text();
  document["written_by"] = writer_name();
}

} // namespace t2i::io
