// Caption files: the official COCO captions JSON, and captions.csv / captions.jsonl for users' own
// data. Every format becomes one CaptionSet; every error names the file and the position in it.
// The formats are listed in caption_formats.cpp, one row each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace t2i::data {

struct CaptionedImage {
  std::int64_t id = 0;                ///< the file's image id (CSV/JSONL: 1, 2, … by first appearance)
  std::string file_name;              ///< relative to the images folder, exactly as the file gives it
  std::vector<std::size_t> captions;  ///< indices into CaptionSet::captions, in file order
};

struct CaptionSet {
  std::string annotations;                 ///< the caption file read
  std::string images_dir;                  ///< the folder file names are relative to
  std::vector<CaptionedImage> images;      ///< in file order
  std::vector<std::string> captions;       ///< caption texts, surrounding whitespace trimmed
  std::vector<std::size_t> caption_image;  ///< the image (index into images) of each caption

  std::string image_path(std::size_t image) const;
};

/// Reads a caption file; its extension selects the format (t2i/data.h: caption_formats()):
///  - `.json`: COCO captions. `images[]`: objects with an integer `id` and a string `file_name`
///    (COCO 2014 and 2017 name files differently, so names are never derived from ids);
///    `annotations[]`: objects with an integer `image_id`, a string `caption` and optionally an
///    integer `id`. Other fields are ignored.
///  - `.csv`: a header row naming the columns `file_name` and `caption` (any order, other columns
///    ignored), then one caption per row; RFC 4180 quoting ("…", "" for a quote, commas and line
///    breaks allowed inside quotes). Rows with the same file_name are captions of one image.
///  - `.jsonl`: one JSON object per line with string fields `file_name` and `caption`.
/// Throws DataError naming the file and the position for: malformed JSON/CSV, missing fields,
/// wrong types, duplicate image ids or file names, duplicate caption ids, captions of unknown
/// image ids and empty captions.
CaptionSet load_captions(const std::string& annotations, const std::string& images_dir);

} // namespace t2i::data
