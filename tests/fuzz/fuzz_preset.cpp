// Preset JSON text, validated as a preset file is; an accepted preset must also write back and
// read back.
#include "fuzz_support.h"
#include "t2i/model.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  t2i::model::Preset preset;
  try {
    preset = t2i::model::parse_preset(text, "fuzz.json");
  } catch (const std::exception&) {
    return 0;
  }
  (void)t2i::model::parse_preset(t2i::model::preset_to_json(preset), "fuzz.json rewritten");
  return 0;
}
