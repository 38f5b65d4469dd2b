#include "train/dataset_setup.h"

#include "data/prepared_dataset.h"
#include "io/hash.h"
#include "t2i/log.h"
#include "t2i/model.h"
#include "text/embedding_cache.h"
#include "text/t5_encoder.h"

#include <filesystem>

namespace t2i::train {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kSplitSeed = 1234;  // the split every run of a dataset shares

data::SplitOptions split_options(const DataSpec& spec) {
  data::SplitOptions split;
  split.max_images = static_cast<std::size_t>(spec.max_images);
  split.seed = kSplitSeed;
  return split;
}

} // namespace

std::string cache_folder(const std::string& cache_root, const DataSpec& spec, int image_size) {
  if (spec.demo)
    return (fs::path(cache_root) / ("demo-" + std::to_string(spec.demo_images)) / ("s" + std::to_string(image_size))).string();
  return data::cache_folder(cache_root, {{spec.annotations, spec.images_dir}}, split_options(spec), image_size);
}

bool caches_built(const std::string& cache_dir) {
  std::error_code error;
  // prepare() writes the manifest last and removes it before rebuilding.
  return fs::is_regular_file(fs::path(data::prepared_folder(cache_dir)) / data::kManifestFileName, error);
}

std::string adopt_cache_of_version_010(const std::string& cache_root, const DataSpec& spec, int image_size) {
  if (spec.demo) return {};
  const auto absolute = [](const std::string& path) {
    std::string clean = fs::absolute(path).lexically_normal().string();
    while (clean.size() > 1 && clean.back() == '/') clean.pop_back();
    return clean;
  };
  const std::string identity = absolute(spec.annotations) + "\n" + absolute(spec.images_dir);
  const fs::path old = fs::path(cache_root) / ("coco-" + io::sha1_hex(identity).substr(0, 12) + "-n" +
                                               std::to_string(spec.max_images)) / ("s" + std::to_string(image_size));
  const fs::path current = cache_folder(cache_root, spec, image_size);
  std::error_code error;
  if (!fs::is_directory(old, error) || fs::exists(current, error)) return {};
  fs::create_directories(current.parent_path(), error);
  fs::rename(old, current, error);
  if (error) {
    log::core()->warn("data: cannot move the cache {} to {} ({}); it will be rebuilt", old.string(), current.string(),
                      error.message());
    return {};
  }
  log::core()->info("data: moved the cache {} to {}, the name it has in this version", old.string(), current.string());
  return old.string();
}

std::string data_folder(const TrainOptions& options) {
  return options.data.cache_dir.empty() ? (fs::path(options.run_dir) / "data").string() : options.data.cache_dir;
}

std::string text_cache_path(const std::string& data_folder) {
  return (fs::path(data_folder) / "text-embeddings.f16").string();
}

DatasetSetup prepare_dataset(const TrainOptions& options, int image_size, const job::Context& job) {
  const std::string folder = data_folder(options);
  DatasetSetup setup;
  setup.source = {options.data.annotations, options.data.images_dir};
  if (options.data.demo) {
    job.status("Writing the built-in demo dataset");
    data::DemoOptions demo;
    demo.images = static_cast<std::size_t>(options.data.demo_images);
    demo.image_size = image_size;
    setup.source = data::make_demo_dataset((fs::path(folder) / "demo").string(), demo).source;
  } else if (setup.source.annotations.empty()) {
    throw std::runtime_error("no dataset given: choose a captions file and images folder, or the built-in demo dataset");
  }
  data::PrepareOptions prepare;
  prepare.image_size = image_size;
  prepare.split = split_options(options.data);
  setup.result = data::prepare({setup.source}, data::prepared_folder(folder), prepare, job);
  return setup;
}

PreparedData prepare_data(const TrainOptions& options, const job::Context& job) {
  const model::Preset preset = model::find_preset(options.preset);
  const std::string folder = data_folder(options);
  const DatasetSetup setup = prepare_dataset(options, preset.unet.image_size, job);
  PreparedData prepared;
  prepared.source = setup.source;
  prepared.cache_dir = setup.result.cache_dir;
  prepared.report = setup.result.report;
  prepared.cancelled = setup.result.cancelled;
  if (prepared.cancelled) return prepared;

  const auto dataset = data::PreparedDataset::open(setup.result.cache_dir);
  const data::Manifest& manifest = dataset->manifest();
  for (data::Split split : {data::Split::Train, data::Split::Val, data::Split::Test}) {
    for (const data::ManifestImage& image : manifest.split(split)) {
      DataItem item;
      item.image_path = (fs::path(manifest.sources.at(image.source).images_dir) / image.file_name).string();
      for (std::size_t c : image.captions) item.captions.push_back(manifest.captions.at(c));
      item.split = data::to_string(split);
      prepared.items.push_back(std::move(item));
    }
  }
  if (!options.t5_dir.empty()) {
    job.status("Caching T5 embeddings of every caption with " + options.t5_dir);
    const auto encoder = text::T5Encoder::from_folder(options.t5_dir, "", runtime::Precision::Float32);
    text::CacheBuildSettings cache;
    cache.max_len = preset.max_text_length;
    prepared.text_cache = text_cache_path(folder);
    prepared.cancelled = text::build_embedding_cache(*encoder, dataset->captions(), prepared.text_cache, cache, job).cancelled;
  }
  return prepared;
}

} // namespace t2i::train
