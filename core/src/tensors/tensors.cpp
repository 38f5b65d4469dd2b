// The facade of t2i/tensors.h: listing a file's tensors.
#include "t2i/tensors.h"

#include "io/tensor_file.h"

namespace t2i::tensors {
namespace {

/// PyTorch's Python name of a dtype, which users know from the files' origin.
std::string dtype_name(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kFloat64: return "float64";
    case torch::kFloat32: return "float32";
    case torch::kFloat16: return "float16";
    case torch::kBFloat16: return "bfloat16";
    case torch::kInt64: return "int64";
    case torch::kInt32: return "int32";
    case torch::kInt16: return "int16";
    case torch::kInt8: return "int8";
    case torch::kUInt8: return "uint8";
    case torch::kBool: return "bool";
    default: return c10::toString(dtype);
  }
}

} // namespace

std::vector<TensorInfo> list_tensors(const std::string& path) {
  std::vector<TensorInfo> infos;
  for (const auto& [name, tensor] : io::load_tensors(path))
    infos.push_back({name, dtype_name(tensor.scalar_type()), tensor.sizes().vec()});
  return infos;
}

} // namespace t2i::tensors
