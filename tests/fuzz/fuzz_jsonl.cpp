// The jsonl caption reader on arbitrary text.
#include "fuzz_support.h"
#include "data/caption_parsing.h"

namespace t2i::data::captions {
CaptionSet parse_jsonl(const std::string& text, const std::string& file, const std::string& images_dir);
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)t2i::data::captions::parse_jsonl(text, "fuzz-captions", "images");
  } catch (const std::exception&) {
  }
  return 0;
}
