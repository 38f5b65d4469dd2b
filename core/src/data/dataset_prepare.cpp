// t2i::data::prepare: subset, image cache, split and manifest (t2i/data.h).
#include "data/data_error.h"
#include "data/dataset_report.h"
#include "data/image_cache.h"
#include "data/prepared_dataset.h"
#include "data/split_manifest.h"

#include "t2i/log.h"

#include <algorithm>
#include <filesystem>

namespace t2i::data {

PrepareResult prepare(const std::vector<Source>& sources, const std::string& cache_dir, const PrepareOptions& options,
                      const job::Context& job) {
  validate(options.split);
  if (options.image_size <= 0) throw DataError("prepare: image size must be positive");
  std::vector<int> image_sizes{options.image_size};
  for (int size : options.extra_sizes) {
    if (size <= 0) throw DataError("prepare: image size must be positive, got " + std::to_string(size));
    if (std::find(image_sizes.begin(), image_sizes.end(), size) != image_sizes.end())
      throw DataError("prepare: image size " + std::to_string(size) + " is given twice");
    image_sizes.push_back(size);
  }
  const std::vector<CaptionSet> sets = load_sources(sources);

  // The subset: the first N captioned images in the seed's order.
  const std::vector<ImageOutcome> captioned = captioned_images(sets);
  std::vector<std::string> names;
  names.reserve(captioned.size());
  for (const ImageOutcome& image : captioned) names.push_back(sets[image.source].images[image.image].file_name);
  const std::vector<std::size_t> order = subset_order(names, options.split.seed);
  std::vector<ImageOutcome> chosen;
  std::vector<CacheSource> cache_sources;
  for (std::size_t k = 0; k < std::min(order.size(), options.split.max_images); ++k) {
    const ImageOutcome& image = captioned[order[k]];
    chosen.push_back(image);
    cache_sources.push_back(CacheSource{sets[image.source].image_path(image.image),
                                        std::to_string(image.source) + ":" + names[order[k]]});
  }

  std::error_code error;
  std::filesystem::create_directories(cache_dir, error);
  if (error) throw DataError(cache_dir, "cannot create folder (" + error.message() + ")");
  const std::filesystem::path dir(cache_dir);
  PrepareResult result;
  result.cache_dir = cache_dir;
  result.cache_file = (dir / kCacheFileName).string();
  result.manifest_file = (dir / kManifestFileName).string();
  result.report_file = (dir / kReportFileName).string();
  // Until the cache is complete again the old manifest may not describe it.
  std::filesystem::remove(result.manifest_file, error);

  for (int size : options.extra_sizes) result.extra_cache_files.push_back((dir / extra_cache_file_name(size)).string());

  CacheBuildOptions build;
  build.threads = options.threads;
  // One cache per size, the same slots in each; an image is usable when it is at every size.
  std::vector<CacheBuildResult> builds;
  result.reused = true;
  for (std::size_t k = 0; k < image_sizes.size(); ++k) {
    const std::string& file = k == 0 ? result.cache_file : result.extra_cache_files[k - 1];
    builds.push_back(build_image_cache(file, cache_sources, image_sizes[k], build, job));
    const CacheBuildResult& built = builds.back();
    for (std::size_t i = 0; i < chosen.size(); ++i)
      if (k == 0 || chosen[i].status == SlotStatus::Ok) chosen[i].status = built.statuses[i];
    result.reused = result.reused && built.outcome == CacheBuildResult::Outcome::Reused;
    result.images_decoded += built.decoded;
    result.decode_seconds += built.seconds;
    if (!built.complete) break;
  }
  if (!builds.back().complete) {
    result.cancelled = true;
    result.reused = false;
    result.report = build_report(sets, chosen, options.split, SplitSizes{}, options.count_tokens, options.token_unit);
    result.report.cancelled = true;
    return result;
  }

  // The split: the usable chosen images in subset order, cut 75/15/10.
  std::vector<std::size_t> usable;
  for (std::size_t i = 0; i < chosen.size(); ++i)
    if (chosen[i].status == SlotStatus::Ok) usable.push_back(i);
  const SplitSizes sizes = split_sizes(usable.size(), options.split);
  Manifest manifest;
  manifest.image_size = options.image_size;
  manifest.options = options.split;
  manifest.sources = sources;
  manifest.cache_file = kCacheFileName;
  manifest.cache_source_hash = builds[0].source_hash;
  for (std::size_t k = 1; k < image_sizes.size(); ++k)
    manifest.extra_caches.push_back(ManifestCache{image_sizes[k], extra_cache_file_name(image_sizes[k]), builds[k].source_hash});
  const std::size_t ends[3] = {sizes.train, sizes.train + sizes.val, usable.size()};
  std::size_t split_index = 0;
  for (std::size_t k = 0; k < usable.size(); ++k) {
    while (k >= ends[split_index]) ++split_index;
    const ImageOutcome& outcome = chosen[usable[k]];
    const CaptionSet& set = sets[outcome.source];
    const CaptionedImage& image = set.images[outcome.image];
    ManifestImage entry{usable[k], outcome.source, image.id, image.file_name, {}};
    for (std::size_t c : image.captions) {
      entry.captions.push_back(manifest.captions.size());
      manifest.captions.push_back(set.captions[c]);
    }
    manifest.splits[split_index].push_back(std::move(entry));
  }
  write_manifest(manifest, result.manifest_file);
  result.manifest_hash = manifest.hash();
  result.report = build_report(sets, chosen, options.split, sizes, options.count_tokens, options.token_unit);
  replace_file(result.report_file, to_json(result.report) + "\n");
  log::core()->info("prepared {}: {} usable images of {} chosen (train {}, val {}, test {}), manifest {}", cache_dir,
                    usable.size(), chosen.size(), sizes.train, sizes.val, sizes.test, result.manifest_hash);
  return result;
}

} // namespace t2i::data
