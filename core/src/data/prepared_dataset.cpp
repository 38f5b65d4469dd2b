#include "data/prepared_dataset.h"

#include "data/data_error.h"

#include <filesystem>

namespace t2i::data {

std::shared_ptr<const PreparedDataset> PreparedDataset::open(const std::string& cache_dir) {
  const std::filesystem::path dir(cache_dir);
  const std::string manifest_path = (dir / kManifestFileName).string();
  std::shared_ptr<PreparedDataset> data(new PreparedDataset());
  data->manifest_ = read_manifest(manifest_path);
  data->hash_ = data->manifest_.hash();
  data->cache_ = ImageCache::open((dir / data->manifest_.cache_file).string());
  const ImageCache& cache = *data->cache_;
  if (!cache.complete())
    throw DataError(cache.path(), "incomplete image cache (interrupted?); run `t2i data prepare` again");
  if (cache.source_hash() != data->manifest_.cache_source_hash || cache.image_size() != data->manifest_.image_size)
    throw DataError(manifest_path, "does not describe " + cache.path() + " (rebuilt since?); run `t2i data prepare` again");
  for (Split split : kSplits)
    for (const ManifestImage& image : data->manifest_.split(split))
      if (image.slot >= cache.count() || cache.status(image.slot) != SlotStatus::Ok)
        throw DataError(manifest_path, "image '" + image.file_name + "' has no usable slot in " + cache.path());
  return data;
}

} // namespace t2i::data
