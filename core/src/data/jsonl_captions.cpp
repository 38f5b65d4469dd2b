// captions.jsonl: one JSON object per line with string fields file_name and caption.
#include "data/caption_parsing.h"

namespace t2i::data::captions {

using nlohmann::json;

CaptionSet parse_jsonl(const std::string& text, const std::string& file, const std::string& images_dir) {
  Builder builder(file, images_dir);
  std::size_t line_number = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (trim(line).empty()) continue;
    const Where where{file, "line " + std::to_string(line_number), false};
    json entry;
    try {
      entry = json::parse(line);
    } catch (const json::parse_error& e) {
      const std::size_t column = e.byte > 0 ? e.byte : 1;
      throw DataError(file, "line " + std::to_string(line_number) + ", column " + std::to_string(column) +
                      ": malformed JSON: " + parse_error_detail(e));
    }
    if (!entry.is_object()) where.fail(where.path, std::string("expected an object, found ") + entry.type_name());
    const std::string name = as_string(require_field(entry, "file_name", where), where.field("file_name"), where);
    const std::string caption = as_string(require_field(entry, "caption", where), where.field("caption"), where);
    add_row_caption(builder, name, caption, where);
  }
  return builder.take();
}

} // namespace t2i::data::captions
