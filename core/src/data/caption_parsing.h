// What the caption-file readers share: positions for error messages, typed JSON fields, and the
// builder that turns images and captions into a CaptionSet while rejecting duplicates. Each format
// is its own file (coco_json_captions.cpp, csv_captions.cpp, jsonl_captions.cpp) and one row in
// caption_formats.cpp.
#pragma once

#include "data/caption_files.h"
#include "data/data_error.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace t2i::data::captions {

std::string trim(const std::string& s);

/// nlohmann's parse-error message without its "[json.exception…] … column C: " prefix, since
/// the readers name the position themselves.
std::string parse_error_detail(const nlohmann::json::parse_error& e);

/// Where a value sits, for messages: a JSON path such as `annotations[17]` (COCO) or `line 7` (JSONL).
struct Where {
  std::string file;
  std::string path;
  bool json_path = true;

  std::string field(const char* name) const {
    return json_path ? path + "." + name : path + ", field '" + name + "'";
  }
  [[noreturn]] void fail(const std::string& location, const std::string& problem) const {
    throw DataError(file, location + ": " + problem);
  }
};

const nlohmann::json& require_field(const nlohmann::json& object, const char* name, const Where& where);
std::int64_t as_int64(const nlohmann::json& value, const std::string& location, const Where& where);
std::string as_string(const nlohmann::json& value, const std::string& location, const Where& where);

/// Accumulates images and captions, rejecting duplicates.
class Builder {
public:
  Builder(std::string annotations, std::string images_dir) {
    set_.annotations = std::move(annotations);
    set_.images_dir = std::move(images_dir);
  }

  /// Returns an error text when the id or the file name is already taken, else adds the image.
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

/// A caption of a row-per-caption format (CSV, JSONL): rows with the same file name are captions
/// of one image, numbered 1, 2, … by first appearance.
void add_row_caption(Builder& builder, const std::string& file_name, std::string caption, const Where& where);

} // namespace t2i::data::captions
