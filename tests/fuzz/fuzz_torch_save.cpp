// torch.save files, zip and legacy, through the content-sniffing loader every caller uses
// (load_tensors: zip, legacy, safetensors or index), tensors summed so bad ranges are touched.
#include "fuzz_support.h"
#include "io/tensor_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = t2i::fuzz::scratch_file(data, size, ".pt");
  try {
    for (const auto& [name, tensor] : t2i::io::load_tensors(path)) (void)tensor.sum().item<double>();
  } catch (const std::exception&) {
  }
  return 0;
}
