// The sharded-checkpoint index (*.index.json) on arbitrary bytes; every shard it names loads as
// an empty file, so only the index's own parsing is exercised.
#include "fuzz_support.h"
#include "io/mapped_file.h"
#include "io/shard_index.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = t2i::fuzz::scratch_file(data, size);
  try {
    const auto file = t2i::io::MappedFile::open(path);
    (void)t2i::io::looks_like_json_object(file->data(), file->size());
    (void)t2i::io::read_shard_index(*file, [](const std::string&) { return true; },
                                    [](const std::string&) { return t2i::io::TensorMap{}; });
  } catch (const std::exception&) {
  }
  return 0;
}
