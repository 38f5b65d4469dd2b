// Cascade file JSON text, validated as a cascade file is (without looking for the checkpoints);
// an accepted cascade must also write back and read back as the same cascade.
#include "fuzz_support.h"
#include "sample/cascade_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  t2i::sample::Cascade cascade;
  try {
    cascade = t2i::sample::parse_cascade(text, "fuzz.json", "/fuzz", false);
  } catch (const std::exception&) {
    return 0;
  }
  const std::string written = t2i::sample::cascade_to_json(cascade, "/fuzz");
  if (!(t2i::sample::parse_cascade(written, "fuzz.json rewritten", "/fuzz", false) == cascade))
    throw std::logic_error("a cascade written back reads back differently:\n" + written);
  return 0;
}
