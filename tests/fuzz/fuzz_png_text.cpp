// The PNG text-chunk reader (Compare's Open PNG, generated images' metadata) on arbitrary files.
#include "fuzz_support.h"
#include "data/png_write.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = t2i::fuzz::scratch_file(data, size, ".png");
  try {
    (void)t2i::data::read_png_text(path);
  } catch (const std::exception&) {
  }
  return 0;
}
