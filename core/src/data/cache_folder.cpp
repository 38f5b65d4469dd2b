#include "t2i/data.h"

#include "data/prepared_dataset.h"
#include "io/hash.h"

#include <cstdio>
#include <filesystem>

namespace fs = std::filesystem;

namespace t2i::data {
namespace {

// The same files named from another working folder, or through a symbolic link, share a cache.
std::string absolute(const std::string& path) {
  std::error_code error;
  fs::path resolved = fs::absolute(path, error).lexically_normal();
  if (const fs::path canonical = fs::weakly_canonical(resolved, error); !error) resolved = canonical;
  if (!resolved.has_filename()) resolved = resolved.parent_path();
  return resolved.string();
}

std::string exact(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.17g", value);
  return text;
}

} // namespace

std::string cache_folder(const std::string& cache_root, const std::vector<Source>& sources, const SplitOptions& split,
                         int image_size) {
  io::Hash64 hash;
  for (const Source& source : sources) hash.text(absolute(source.annotations)).text(absolute(source.images_dir));
  hash.u64(split.seed).text(exact(split.train)).text(exact(split.val)).text(exact(split.test));
  const std::string name = "data-" + io::hex64(hash.value()) + "-n" + std::to_string(split.max_images);
  return (fs::path(cache_root) / name / ("s" + std::to_string(image_size))).string();
}

std::string prepared_folder(const std::string& cache_folder) { return (fs::path(cache_folder) / "prepared").string(); }

std::string find_prepared_folder(const std::string& folder) {
  return fs::exists(fs::path(folder) / kManifestFileName) ? folder : prepared_folder(folder);
}

} // namespace t2i::data
