// `t2i bench data`: the image cache's build rate (decode + resize + crop) into a fresh folder.
#include "t2i/bench.h"

#include "t2i/runtime.h"

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <stdexcept>

namespace t2i::bench {

std::string data_json(const DataOptions& options) {
  std::string folder = (std::filesystem::temp_directory_path() / "t2i-bench-data-XXXXXX").string();
  if (::mkdtemp(folder.data()) == nullptr) throw std::runtime_error("cannot create a temporary folder");
  data::PrepareOptions prepare;
  prepare.image_size = options.image_size;
  prepare.split = options.split;
  prepare.threads = options.threads;
  data::PrepareResult result;
  // CPU time as well as wall time: on a shared machine the wall-clock rate mostly measures the load.
  const std::clock_t cpu_start = std::clock();
  try {
    result = data::prepare(options.sources, folder, prepare);
  } catch (...) {
    std::filesystem::remove_all(folder);
    throw;
  }
  const double cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  const std::uintmax_t bytes = std::filesystem::file_size(result.cache_file);
  const std::size_t slots = result.report.images_checked;
  std::filesystem::remove_all(folder);
  const int decode_threads = options.threads > 0 ? options.threads : runtime::available_cores();
  const double per_second = result.decode_seconds > 0 ? static_cast<double>(slots) / result.decode_seconds : 0.0;
  const double per_cpu_second = cpu_seconds > 0 ? static_cast<double>(slots) / cpu_seconds : 0.0;
  const double per_thousand = slots > 0 ? static_cast<double>(bytes) * 1000.0 / static_cast<double>(slots) : 0.0;
  char json[512];
  std::snprintf(json, sizeof json,
                "{\"bench\":\"data-cache\",\"images\":%zu,\"usable\":%zu,\"image_size\":%d,\"decode_threads\":%d,"
                "\"seconds\":%.4f,\"images_per_second\":%.1f,\"cpu_seconds\":%.4f,\"images_per_cpu_second\":%.1f,"
                "\"cache_bytes\":%ju,\"cache_bytes_per_1000_images\":%.0f}",
                slots, result.report.images_usable, options.image_size, decode_threads, result.decode_seconds,
                per_second, cpu_seconds, per_cpu_second, bytes, per_thousand);
  return json;
}

} // namespace t2i::bench
