// The safetensors reader on arbitrary files: the full read (tensors viewing the mapping, each
// summed so a bad range is touched) and the header-only metadata read.
#include "fuzz_support.h"
#include "io/mapped_file.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = t2i::fuzz::scratch_file(data, size);
  try {
    (void)t2i::io::read_safetensors_metadata(path);
  } catch (const std::exception&) {
  }
  try {
    for (const auto& [name, tensor] : t2i::io::read_safetensors(t2i::io::MappedFile::open(path)))
      (void)tensor.sum().item<double>();
  } catch (const std::exception&) {
  }
  return 0;
}
