// JPEG/PNG decoding of arbitrary bytes, at full size and with DCT-domain downscaling (the last
// byte picks the requested shorter side, as dataset preparation asks for one).
#include "fuzz_support.h"
#include "data/image_decode.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  t2i::data::DecodeOptions options;
  if (size > 0) options.min_shorter_side = data[size - 1] % 2 == 0 ? 0 : data[size - 1];
  try {
    (void)t2i::data::decode_image(data, size, "fuzz-image", options);
  } catch (const std::exception&) {
  }
  return 0;
}
