// A prepared dataset as training reads it: the manifest's splits and captions, and the image
// cache memory-mapped. Made by t2i::data::prepare (t2i/data.h) in one folder.
#pragma once

#include "data/image_cache.h"
#include "data/split_manifest.h"

#include <memory>
#include <string>
#include <vector>

namespace t2i::data {

/// The files of a prepared dataset's folder: the image cache at the manifest's size S, and one per
/// further size (extra_cache_file_name).
inline constexpr const char* kCacheFileName = "images.t2icache";
inline constexpr const char* kManifestFileName = "manifest.json";
inline constexpr const char* kReportFileName = "report.json";

/// "images-s<size>.t2icache": the cache of the same slots at a further size.
std::string extra_cache_file_name(int image_size);

class PreparedDataset {
public:
  /// Opens `cache_dir`; throws DataError naming the file when the manifest or the cache is missing,
  /// incomplete (an interrupted prepare) or the two do not belong together.
  static std::shared_ptr<const PreparedDataset> open(const std::string& cache_dir);

  const Manifest& manifest() const { return manifest_; }
  const ImageCache& cache() const { return *cache_; }
  int image_size() const { return manifest_.image_size; }
  /// Every size the images are cached at: S first, then the extra sizes as prepared.
  std::vector<int> image_sizes() const;
  /// The cache at `image_size` (S or an extra size); its slots are the manifest's slots. Throws
  /// DataError naming the folder and the sizes it has.
  const ImageCache& cache(int image_size) const;
  const std::vector<ManifestImage>& images(Split split) const { return manifest_.split(split); }
  /// Every caption; a batch's caption indices point here (and into the text-embedding cache).
  const std::vector<std::string>& captions() const { return manifest_.captions; }
  /// The manifest's hash (Manifest::hash), which checkpoints store.
  const std::string& manifest_hash() const { return hash_; }

private:
  PreparedDataset() = default;

  Manifest manifest_;
  std::string dir_;
  std::shared_ptr<const ImageCache> cache_;
  std::vector<std::shared_ptr<const ImageCache>> extra_caches_;  ///< as manifest_.extra_caches
  std::string hash_;
};

} // namespace t2i::data
