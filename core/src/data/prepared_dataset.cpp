#include "data/prepared_dataset.h"

#include "data/data_error.h"

#include <filesystem>

namespace t2i::data {
namespace {

// Opens the cache the manifest names and checks that it is complete, made from the manifest's
// sources at its size, and holds every split image.
std::shared_ptr<const ImageCache> open_cache(const Manifest& manifest, const std::string& manifest_path,
                                             const std::string& path, int image_size, std::uint64_t source_hash) {
  auto cache = ImageCache::open(path);
  if (!cache->complete())
    throw DataError(cache->path(), "incomplete image cache (interrupted?); run `t2i data prepare` again");
  if (cache->source_hash() != source_hash || cache->image_size() != image_size)
    throw DataError(manifest_path, "does not describe " + cache->path() + " (rebuilt since?); run `t2i data prepare` again");
  for (Split split : kSplits)
    for (const ManifestImage& image : manifest.split(split))
      if (image.slot >= cache->count() || cache->status(image.slot) != SlotStatus::Ok)
        throw DataError(manifest_path, "image '" + image.file_name + "' has no usable slot in " + cache->path());
  return cache;
}

} // namespace

std::string extra_cache_file_name(int image_size) { return "images-s" + std::to_string(image_size) + ".t2icache"; }

std::shared_ptr<const PreparedDataset> PreparedDataset::open(const std::string& cache_dir) {
  const std::filesystem::path dir(cache_dir);
  const std::string manifest_path = (dir / kManifestFileName).string();
  std::shared_ptr<PreparedDataset> data(new PreparedDataset());
  data->dir_ = cache_dir;
  data->manifest_ = read_manifest(manifest_path);
  data->hash_ = data->manifest_.hash();
  const Manifest& manifest = data->manifest_;
  data->cache_ = open_cache(manifest, manifest_path, (dir / manifest.cache_file).string(), manifest.image_size,
                            manifest.cache_source_hash);
  for (const ManifestCache& extra : manifest.extra_caches)
    data->extra_caches_.push_back(
        open_cache(manifest, manifest_path, (dir / extra.file).string(), extra.image_size, extra.source_hash));
  return data;
}

std::vector<int> PreparedDataset::image_sizes() const {
  std::vector<int> sizes{manifest_.image_size};
  for (const ManifestCache& extra : manifest_.extra_caches) sizes.push_back(extra.image_size);
  return sizes;
}

const ImageCache& PreparedDataset::cache(int image_size) const {
  if (image_size == manifest_.image_size) return *cache_;
  for (std::size_t i = 0; i < extra_caches_.size(); ++i)
    if (manifest_.extra_caches[i].image_size == image_size) return *extra_caches_[i];
  std::string sizes;
  for (int size : image_sizes()) sizes += (sizes.empty() ? "" : ", ") + std::to_string(size);
  throw DataError(dir_, "no images cached at size " + std::to_string(image_size) + " (prepared at " + sizes +
                            "); run `t2i data prepare --sizes` with it");
}

} // namespace t2i::data
