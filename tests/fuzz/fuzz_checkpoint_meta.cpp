// A checkpoint's metadata document: the input becomes the "t2i" metadata string of an otherwise
// valid safetensors file, then read_checkpoint_meta parses and upgrades it.
#include "fuzz_support.h"
#include "model/checkpoint_file.h"

#include <nlohmann/json.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  nlohmann::json header = {{"__metadata__", {{"t2i", text}}}};
  const std::string json = header.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string file(8, '\0');
  for (int i = 0; i < 8; ++i) file[i] = static_cast<char>((json.size() >> (8 * i)) & 0xff);
  file += json;
  const std::string& path =
      t2i::fuzz::scratch_file(reinterpret_cast<const std::uint8_t*>(file.data()), file.size(), ".safetensors");
  try {
    (void)t2i::model::read_checkpoint_meta(path);
  } catch (const std::exception&) {
  }
  return 0;
}
