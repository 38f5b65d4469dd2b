// Tensor files (safetensors, sharded indexes, torch.save files) as the CLI and the UI see them:
// what a weights file holds. Plain C++ only; this facade lives in core/src/tensors/, the reader itself in core/src/io/ (and
// `t2i bench tensor-read` times it: t2i/bench.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace t2i::tensors {

struct TensorInfo {
  std::string name;
  std::string dtype;                ///< "float32", "float16", "int64", …
  std::vector<std::int64_t> shape;  ///< empty for a 0-d tensor
};

/// Every tensor of a file (any format the core reads), sorted by name. Throws
/// std::runtime_error naming the file and the problem.
std::vector<TensorInfo> list_tensors(const std::string& path);

} // namespace t2i::tensors
