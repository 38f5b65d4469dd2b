// The official COCO captions JSON (2014 and 2017): images[] with id and file_name, annotations[]
// with image_id and caption.
#include "data/caption_parsing.h"

#include <algorithm>

namespace t2i::data::captions {
namespace {

using nlohmann::json;

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

// nlohmann's byte counts the characters read up to and including the offending token, so the
// position named is that token's last character (the column nlohmann's own message gives).
DataError malformed_json(const std::string& file, const std::string& text, const json::parse_error& e) {
  const LineColumn at = line_column(text, e.byte > 0 ? e.byte - 1 : 0);
  return DataError(file + ": line " + std::to_string(at.line) + ", column " +
                   std::to_string(at.column) + ": malformed JSON: " + parse_error_detail(e));
}

const json& require_array(const json& root, const char* name, const std::string& file) {
  const auto it = root.find(name);
  if (it == root.end()) throw DataError(file, std::string(name) + ": missing (expected the COCO captions layout)");
  if (!it->is_array()) throw DataError(file, std::string(name) + ": expected an array, found " + it->type_name());
  return *it;
}

} // namespace

CaptionSet parse_coco_json(const std::string& text, const std::string& file, const std::string& images_dir) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    throw malformed_json(file, text, e);
  }
  if (!root.is_object())
    throw DataError(file, std::string("the top level must be an object with 'images' and 'annotations' (COCO captions layout), found ") +
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

} // namespace t2i::data::captions
