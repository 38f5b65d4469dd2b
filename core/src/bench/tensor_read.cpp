// `t2i bench tensor-read`: how fast the core writes and reads back a large safetensors file, from a
// cold and from a warm page cache.
#include "t2i/bench.h"

#include "bench/timing.h"
#include "io/tensor_file.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

namespace t2i::bench {
namespace {

using namespace io;  // the reader under test

/// Drops the file's (clean, already synced) pages from the page cache, so the next read is cold.
void evict_from_page_cache(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

/// Maps the file and reads every element; returns the seconds taken.
double timed_read(const std::string& path, double& checksum) {
  const auto start = Clock::now();
  checksum = 0;
  for (const auto& [name, tensor] : load_tensors(path)) checksum += tensor.sum().item<double>();
  return seconds_since(start);
}

/// Removes the benchmark's file however the benchmark ends.
struct RemoveOnExit {
  std::string path;
  ~RemoveOnExit() { std::filesystem::remove(path); }
};

} // namespace

std::string tensor_read_json(const TensorReadOptions& options) {
  torch::NoGradGuard no_grad;
  const int tensor_count = 16;
  const int64_t elements = int64_t{options.size_mb} * (1 << 20) / 4 / tensor_count;
  TensorMap tensors;
  for (int i = 0; i < tensor_count; ++i) tensors["layer." + std::to_string(i) + ".weight"] = torch::rand({elements});
  const std::filesystem::path folder =
      options.folder.empty() ? std::filesystem::temp_directory_path() : std::filesystem::path(options.folder);
  const RemoveOnExit file{(folder / ("t2i-read-bench-" + std::to_string(::getpid()) + ".safetensors")).string()};

  const auto save_start = Clock::now();
  save_safetensors(file.path, tensors);
  const double save_seconds = seconds_since(save_start);
  const double megabytes = static_cast<double>(std::filesystem::file_size(file.path)) / (1 << 20);
  double expected = 0;
  for (const auto& [name, tensor] : tensors) expected += tensor.sum().item<double>();
  tensors.clear();

  evict_from_page_cache(file.path);
  double checksum = 0;
  const double cold_seconds = timed_read(file.path, checksum);
  const auto open_start = Clock::now();
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

} // namespace t2i::bench
