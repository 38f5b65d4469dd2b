// Tensor files (safetensors, sharded indexes, torch.save files) as the CLI and the UI see them:
// what a weights file holds, and how fast the core reads it. Plain C++ only; the reader itself
// lives in core/src/io/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace t2i::io {

struct TensorInfo {
  std::string name;
  std::string dtype;                ///< "float32", "float16", "int64", …
  std::vector<std::int64_t> shape;  ///< empty for a 0-d tensor
};

/// Every tensor of a file (any format the core reads), sorted by name. Throws
/// std::runtime_error naming the file and the problem.
std::vector<TensorInfo> list_tensors(const std::string& path);

struct ReadBenchOptions {
  int size_mb = 512;   ///< float32 data written, in 16 tensors
  std::string folder;  ///< where the temporary file goes; empty = the system's temporary folder
};

/// Writes a random safetensors file of options.size_mb, then reads it back from a cold page
/// cache and again warm; deletes it. Returns one JSON object with MB/s figures.
std::string read_throughput_json(const ReadBenchOptions& options);

} // namespace t2i::io
