// The unpickler on arbitrary bytes, every global allowed (the most permissive caller).
#include "fuzz_support.h"
#include "io/pickle.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  t2i::io::ByteReader reader(data, size, "fuzz.pkl");
  try {
    (void)t2i::io::pickle::unpickle(reader, [](const std::string&, const std::string&) { return true; });
  } catch (const std::exception&) {
  }
  return 0;
}
