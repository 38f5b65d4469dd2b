#include "data/caption_parsing.h"

namespace t2i::data::captions {

using nlohmann::json;

std::string trim(const std::string& s) {
  const char* space = " \t\r\n\f\v";
  const std::size_t first = s.find_first_not_of(space);
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(space) - first + 1);
}

std::string parse_error_detail(const json::parse_error& e) {
  const std::string what = e.what();
  const std::size_t column = what.find("column ");
  const std::size_t colon = column == std::string::npos ? std::string::npos : what.find(": ", column);
  return colon == std::string::npos ? what : what.substr(colon + 2);
}

const json& require_field(const json& object, const char* name, const Where& where) {
  const auto it = object.find(name);
  if (it == object.end()) where.fail(where.field(name), "missing");
  return *it;
}

std::int64_t as_int64(const json& value, const std::string& location, const Where& where) {
  if (!value.is_number_integer())
    where.fail(location, std::string("expected an integer, found ") + value.type_name());
  if (value.is_number_unsigned() && value.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    where.fail(location, "integer out of range");
  return value.get<std::int64_t>();
}

std::string as_string(const json& value, const std::string& location, const Where& where) {
  if (!value.is_string()) where.fail(location, std::string("expected a string, found ") + value.type_name());
  return value.get<std::string>();
}

void add_row_caption(Builder& builder, const std::string& file_name, std::string caption, const Where& where) {
  if (trim(file_name).empty()) where.fail(where.field("file_name"), "empty");
  caption = trim(caption);
  if (caption.empty()) where.fail(where.field("caption"), "empty caption");
  const std::size_t* image = builder.find_name(file_name);
  std::size_t index = 0;
  if (image != nullptr) {
    index = *image;
  } else {
    index = builder.image_count();
    builder.add_image(static_cast<std::int64_t>(index + 1), file_name, where.path);
  }
  builder.add_caption(index, std::move(caption));
}

} // namespace t2i::data::captions
