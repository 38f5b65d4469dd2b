// Every caption-file format in one table: its extension, its description for help texts and file
// dialogs, and its reader. A new format is its reader's file, one row here, and its test.
#include "data/caption_parsing.h"
#include "io/text_file.h"
#include "t2i/data.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace t2i::data {
namespace captions {

// Each defined in its format's own file.
CaptionSet parse_coco_json(const std::string& text, const std::string& file, const std::string& images_dir);
CaptionSet parse_csv(const std::string& text, const std::string& file, const std::string& images_dir);
CaptionSet parse_jsonl(const std::string& text, const std::string& file, const std::string& images_dir);

} // namespace captions

namespace {

struct Registration {
  const char* extension;
  const char* description;
  CaptionSet (*parse)(const std::string& text, const std::string& file, const std::string& images_dir);
};

constexpr std::array<Registration, 3> kFormats{{
    {".json", "COCO captions JSON (images[] and annotations[])", captions::parse_coco_json},
    {".csv", "CSV with a header row naming file_name and caption, one caption per row", captions::parse_csv},
    {".jsonl", "JSON Lines: one {\"file_name\": …, \"caption\": …} object per line", captions::parse_jsonl},
}};

// `suffix` is lower case; the file's name may be any case ("CAPTIONS.CSV").
bool ends_with_ignoring_case(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         std::equal(suffix.rbegin(), suffix.rend(), s.rbegin(),
                    [](char lower, char c) { return std::tolower(static_cast<unsigned char>(c)) == lower; });
}

} // namespace

std::string CaptionSet::image_path(std::size_t image) const {
  const std::string& name = images[image].file_name;
  if (images_dir.empty() || name.front() == '/') return name;
  return images_dir.back() == '/' ? images_dir + name : images_dir + "/" + name;
}

CaptionSet load_captions(const std::string& annotations, const std::string& images_dir) {
  const Registration* format = nullptr;
  for (const Registration& entry : kFormats)
    if (ends_with_ignoring_case(annotations, entry.extension)) format = &entry;
  if (format == nullptr) {
    std::string expected;
    for (const Registration& entry : kFormats) expected += std::string(expected.empty() ? "" : ", ") + entry.extension;
    throw DataError(annotations, "unknown caption file type (expected " + expected + ")");
  }
  const std::string text = as_data_error([&] { return io::read_text_file(annotations, "caption file"); });
  return format->parse(text, annotations, images_dir);
}

std::vector<ListedImage> list_images(const Source& source) {
  const CaptionSet set = load_captions(source.annotations, source.images_dir);
  std::vector<ListedImage> listed;
  listed.reserve(set.images.size());
  for (std::size_t i = 0; i < set.images.size(); ++i) {
    const std::vector<std::size_t>& captions = set.images[i].captions;
    listed.push_back({set.image_path(i), captions.empty() ? std::string() : set.captions[captions.front()]});
  }
  return listed;
}

std::vector<CaptionFormat> caption_formats() {
  std::vector<CaptionFormat> formats;
  for (const Registration& entry : kFormats) formats.push_back({entry.extension, entry.description});
  return formats;
}

} // namespace t2i::data
