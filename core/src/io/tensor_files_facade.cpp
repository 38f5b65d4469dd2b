// The facade of t2i/tensor_files.h: listing a file's tensors and timing the reader.
#include "t2i/tensor_files.h"

#include "io/tensor_file.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

namespace t2i::io {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Drops the file's (clean, already synced) pages from the page cache, so the next read is cold.
void evict_from_page_cache(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

/// Maps the file and reads every element; returns the seconds taken.
double timed_read(const std::string& path, double& checksum) {
  const auto start = std::chrono::steady_clock::now();
  checksum = 0;
  for (const auto& [name, tensor] : load_tensors(path)) checksum += tensor.sum().item<double>();
  return seconds_since(start);
}

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

/// Removes the benchmark's file however the benchmark ends.
struct RemoveOnExit {
  std::string path;
  ~RemoveOnExit() { std::filesystem::remove(path); }
};

} // namespace

std::vector<TensorInfo> list_tensors(const std::string& path) {
  std::vector<TensorInfo> infos;
  for (const auto& [name, tensor] : load_tensors(path))
    infos.push_back({name, dtype_name(tensor.scalar_type()), tensor.sizes().vec()});
  return infos;
}

std::string read_throughput_json(const ReadBenchOptions& options) {
  torch::NoGradGuard no_grad;
  const int tensor_count = 16;
  const int64_t elements = int64_t{options.size_mb} * (1 << 20) / 4 / tensor_count;
  TensorMap tensors;
  for (int i = 0; i < tensor_count; ++i) tensors["layer." + std::to_string(i) + ".weight"] = torch::rand({elements});
  const std::filesystem::path folder =
      options.folder.empty() ? std::filesystem::temp_directory_path() : std::filesystem::path(options.folder);
  const RemoveOnExit file{(folder / ("t2i-read-bench-" + std::to_string(::getpid()) + ".safetensors")).string()};

  const auto save_start = std::chrono::steady_clock::now();
  save_safetensors(file.path, tensors);
  const double save_seconds = seconds_since(save_start);
  const double megabytes = static_cast<double>(std::filesystem::file_size(file.path)) / (1 << 20);
  double expected = 0;
  for (const auto& [name, tensor] : tensors) expected += tensor.sum().item<double>();
  tensors.clear();

  evict_from_page_cache(file.path);
  double checksum = 0;
  const double cold_seconds = timed_read(file.path, checksum);
  const auto open_start = std::chrono::steady_clock::now();
  const size_t count = load_tensors(file.path).size();
  const double open_seconds = seconds_since(open_start);
  const double warm_seconds = timed_read(file.path, checksum);

  const nlohmann::json result{
      {"benchmark", "tensor_read"},
      {"file_mb", megabytes},
      {"tensors", count},
      {"save_seconds", save_seconds},
      {"save_mb_per_s", megabytes / save_seconds},
      {"open_ms", open_seconds * 1000},
      {"cold_read_seconds", cold_seconds},
      {"cold_read_mb_per_s", megabytes / cold_seconds},
      {"warm_read_seconds", warm_seconds},
      {"warm_read_mb_per_s", megabytes / warm_seconds},
      {"values_match", std::abs(checksum - expected) <= 1e-6 * std::abs(expected)},
      {"note", "read = load_tensors (memory-mapped) + summing every value; cold = after evicting the file from the page cache"}};
  return result.dump(2);
}

} // namespace t2i::io
