// The zip central-directory reader on arbitrary bytes; every record it returns must lie inside them.
#include "fuzz_support.h"
#include "io/zip_archive.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)t2i::io::looks_like_zip(data, size);
    for (const auto& record : t2i::io::read_zip_directory(t2i::io::ByteReader(data, size, "fuzz.zip")))
      if (record.offset > size || record.size > size - record.offset) std::abort();
  } catch (const std::exception&) {
  }
  return 0;
}
