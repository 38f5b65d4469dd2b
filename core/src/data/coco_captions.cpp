#include "data/coco_captions.h"

#include "data/data_error.h"
#include "io/text_file.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <limits>
#include <unordered_map>

namespace t2i::data {

namespace {

using nlohmann::json;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         std::equal(suffix.rbegin(), suffix.rend(), s.rbegin(),
                    [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
}

std::string trim(const std::string& s) {
  const char* space = " \t\r\n\f\v";
  const std::size_t first = s.find_first_not_of(space);
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(space) - first + 1);
}

struct LineColumn {
  std::size_t line = 1;
  std::size_t column = 1;
};

LineColumn line_column(const std::string& text, std::size_t offset) {
  LineColumn at;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++at.line;
      at.column = 1;
    } else {
      ++at.column;
    }
  }
  return at;
}

// nlohmann's message without its "[json.exception…] parse error at line L, column C: " prefix,
// since we name the position ourselves.
std::string parse_error_detail(const json::parse_error& e) {
  const std::string what = e.what();
  const std::size_t column = what.find("column ");
  const std::size_t colon = column == std::string::npos ? std::string::npos : what.find(": ", column);
  return colon == std::string::npos ? what : what.substr(colon + 2);
}

// nlohmann's byte counts the characters read up to and including the offending token, so the
// position named is that token's last character (the column nlohmann's own message gives).
DataError malformed_json(const std::string& file, const std::string& text, const json::parse_error& e) {
  const LineColumn at = line_column(text, e.byte > 0 ? e.byte - 1 : 0);
  return DataError(file + ": line " + std::to_string(at.line) + ", column " +
                   std::to_string(at.column) + ": malformed JSON: " + parse_error_detail(e));
}

// Where a value sits, for messages: a JSON path such as `annotations[17]` (COCO) or `line 7` (JSONL).
struct Where {
  std::string file;
  std::string path;
  bool json_path = true;

  std::string field(const char* name) const {
    return json_path ? path + "." + name : path + ", field '" + name + "'";
  }
  [[noreturn]] void fail(const std::string& location, const std::string& problem) const {
    throw DataError(file + ": " + location + ": " + problem);
  }
};

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

const json& require_array(const json& root, const char* name, const std::string& file) {
  const auto it = root.find(name);
  if (it == root.end()) throw DataError(file + ": " + name + ": missing (expected the COCO captions layout)");
  if (!it->is_array()) throw DataError(file + ": " + name + ": expected an array, found " + it->type_name());
  return *it;
}

// Accumulates images and captions, rejecting duplicates.
class Builder {
public:
  Builder(std::string annotations, std::string images_dir) {
    set_.annotations = std::move(annotations);
    set_.images_dir = std::move(images_dir);
  }

  // Returns an error text when the id or the file name is already taken, else adds the image.
  std::string add_image(std::int64_t id, const std::string& file_name, const std::string& location) {
    if (const auto it = by_id_.find(id); it != by_id_.end())
      return "duplicate image id " + std::to_string(id) + " (first at " + locations_[it->second] + ")";
    if (const auto it = by_name_.find(file_name); it != by_name_.end())
      return "duplicate file_name '" + file_name + "' (first at " + locations_[it->second] + ")";
    const std::size_t index = set_.images.size();
    by_id_.emplace(id, index);
    by_name_.emplace(file_name, index);
    locations_.push_back(location);
    set_.images.push_back(CaptionedImage{id, file_name, {}});
    return {};
  }

  const std::size_t* find_id(std::int64_t id) const {
    const auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : &it->second;
  }
  const std::size_t* find_name(const std::string& name) const {
    const auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &it->second;
  }
  std::size_t image_count() const { return set_.images.size(); }

  void add_caption(std::size_t image, std::string text) {
    set_.images[image].captions.push_back(set_.captions.size());
    set_.captions.push_back(std::move(text));
    set_.caption_image.push_back(image);
  }

  CaptionSet take() { return std::move(set_); }

private:
  CaptionSet set_;
  std::unordered_map<std::int64_t, std::size_t> by_id_;
  std::unordered_map<std::string, std::size_t> by_name_;
  std::vector<std::string> locations_;
};

CaptionSet parse_coco(const std::string& text, const std::string& file, const std::string& images_dir) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    throw malformed_json(file, text, e);
  }
  if (!root.is_object())
    throw DataError(file + ": the top level must be an object with 'images' and 'annotations' (COCO captions layout), found " +
                    root.type_name());
  const json& images = require_array(root, "images", file);
  const json& annotations = require_array(root, "annotations", file);

  Builder builder(file, images_dir);
  for (std::size_t i = 0; i < images.size(); ++i) {
    const Where where{file, "images[" + std::to_string(i) + "]"};
    const json& entry = images[i];
    if (!entry.is_object()) where.fail(where.path, std::string("expected an object, found ") + entry.type_name());
    const std::int64_t id = as_int64(require_field(entry, "id", where), where.field("id"), where);
    const std::string name = as_string(require_field(entry, "file_name", where), where.field("file_name"), where);
    if (trim(name).empty()) where.fail(where.field("file_name"), "empty");
    if (const std::string problem = builder.add_image(id, name, where.path); !problem.empty())
      where.fail(where.field(builder.find_id(id) ? "id" : "file_name"), problem);
  }

  std::unordered_map<std::int64_t, std::size_t> caption_ids;
  for (std::size_t k = 0; k < annotations.size(); ++k) {
    const Where where{file, "annotations[" + std::to_string(k) + "]"};
    const json& entry = annotations[k];
    if (!entry.is_object()) where.fail(where.path, std::string("expected an object, found ") + entry.type_name());
    if (const auto id = entry.find("id"); id != entry.end()) {
      const std::int64_t value = as_int64(*id, where.field("id"), where);
      if (const auto [it, inserted] = caption_ids.emplace(value, k); !inserted)
        where.fail(where.field("id"), "duplicate caption id " + std::to_string(value) + " (first at annotations[" +
                                          std::to_string(it->second) + "])");
    }
    const std::int64_t image_id = as_int64(require_field(entry, "image_id", where), where.field("image_id"), where);
    const std::size_t* image = builder.find_id(image_id);
    if (image == nullptr) where.fail(where.field("image_id"), "unknown image id " + std::to_string(image_id));
    std::string caption = trim(as_string(require_field(entry, "caption", where), where.field("caption"), where));
    if (caption.empty()) where.fail(where.field("caption"), "empty caption");
    builder.add_caption(*image, std::move(caption));
  }
  return builder.take();
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
      throw DataError(file + ": line " + std::to_string(line_number) + ", column " + std::to_string(column) +
                      ": malformed JSON: " + parse_error_detail(e));
    }
    if (!entry.is_object()) where.fail(where.path, std::string("expected an object, found ") + entry.type_name());
    const std::string name = as_string(require_field(entry, "file_name", where), where.field("file_name"), where);
    const std::string caption = as_string(require_field(entry, "caption", where), where.field("caption"), where);
    add_row_caption(builder, name, caption, where);
  }
  return builder.take();
}

struct CsvRecord {
  std::vector<std::string> fields;
  std::size_t line = 0;
};

// RFC 4180 records; line numbers count physical lines, so a message points at the record's start.
std::vector<CsvRecord> parse_csv_records(const std::string& text, const std::string& file) {
  std::vector<CsvRecord> records;
  std::size_t i = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  std::size_t line = 1;
  std::size_t column = 1;
  CsvRecord record{{}, line};
  std::string field;
  bool quoted = false;       // inside a quoted field
  bool after_quote = false;  // a quoted field just closed: only a separator may follow
  std::size_t quote_line = 0;
  std::size_t quote_column = 0;
  auto end_field = [&] {
    record.fields.push_back(std::move(field));
    field.clear();
    after_quote = false;
  };
  auto end_record = [&] {
    end_field();
    const bool blank = record.fields.size() == 1 && record.fields[0].empty();
    if (!blank) records.push_back(std::move(record));
    record = CsvRecord{{}, line};
  };
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
          column += 2;
          continue;
        }
        quoted = false;
        after_quote = true;
      } else {
        field += c;
      }
      if (c == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
      continue;
    }
    if (c == ',') {
      end_field();
      ++column;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      ++line;
      column = 1;
      end_record();
    } else if (after_quote) {
      throw DataError(file + ": line " + std::to_string(line) + ", column " + std::to_string(column) +
                      ": unexpected character after a closing quote");
    } else if (c == '"') {
      if (!field.empty())
        throw DataError(file + ": line " + std::to_string(line) + ", column " + std::to_string(column) +
                        ": quote inside an unquoted field (quote the whole field and double the quote)");
      quoted = true;
      quote_line = line;
      quote_column = column;
      ++column;
    } else {
      field += c;
      ++column;
    }
  }
  if (quoted)
    throw DataError(file + ": line " + std::to_string(quote_line) + ", column " + std::to_string(quote_column) +
                    ": quoted field never closed");
  end_record();
  return records;
}

CaptionSet parse_csv(const std::string& text, const std::string& file, const std::string& images_dir) {
  const std::vector<CsvRecord> records = parse_csv_records(text, file);
  if (records.empty()) throw DataError(file + ": empty CSV: expected a header row with file_name and caption");
  const CsvRecord& header = records.front();
  std::size_t name_column = header.fields.size();
  std::size_t caption_column = header.fields.size();
  for (std::size_t c = 0; c < header.fields.size(); ++c) {
    const std::string column = trim(header.fields[c]);
    if (column == "file_name") name_column = c;
    if (column == "caption") caption_column = c;
  }
  for (const auto& [column, name] : {std::pair{name_column, "file_name"}, std::pair{caption_column, "caption"}})
    if (column == header.fields.size())
      throw DataError(file + ": line " + std::to_string(header.line) + ": the header has no column '" + name +
                      "' (expected a header row naming file_name and caption)");

  Builder builder(file, images_dir);
  for (std::size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& record = records[r];
    const Where where{file, "line " + std::to_string(record.line), false};
    if (record.fields.size() != header.fields.size())
      where.fail(where.path, "expected " + std::to_string(header.fields.size()) + " fields as in the header, found " +
                                 std::to_string(record.fields.size()));
    add_row_caption(builder, record.fields[name_column], record.fields[caption_column], where);
  }
  return builder.take();
}

} // namespace

std::string CaptionSet::image_path(std::size_t image) const {
  const std::string& name = images[image].file_name;
  if (images_dir.empty() || name.front() == '/') return name;
  return images_dir.back() == '/' ? images_dir + name : images_dir + "/" + name;
}

CaptionSet load_captions(const std::string& annotations, const std::string& images_dir) {
  const std::string text = as_data_error([&] { return io::read_text_file(annotations, "caption file"); });
  if (ends_with(annotations, ".json")) return parse_coco(text, annotations, images_dir);
  if (ends_with(annotations, ".jsonl")) return parse_jsonl(text, annotations, images_dir);
  if (ends_with(annotations, ".csv")) return parse_csv(text, annotations, images_dir);
  throw DataError(annotations + ": unknown caption file type (expected .json in the COCO captions layout, .csv or .jsonl)");
}

} // namespace t2i::data
