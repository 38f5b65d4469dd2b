#include "train/dataset_setup.h"

#include "data/prepared_dataset.h"
#include "t2i/preset.h"
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

std::string data_folder(const TrainOptions& options) {
  return options.data.cache_dir.empty() ? (fs::path(options.run_dir) / "data").string() : options.data.cache_dir;
}

std::string text_cache_path(const std::string& data_folder) {
  return (fs::path(data_folder) / "text-embeddings.f16").string();
}

DatasetSetup prepare_dataset(const TrainOptions& options, int image_size, Observer& observer,
                             const std::atomic<bool>* cancel) {
  const std::string folder = data_folder(options);
  DatasetSetup setup;
  setup.source = {options.data.annotations, options.data.images_dir};
  if (options.data.demo) {
    observer.on_status("Writing the built-in demo dataset");
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
  prepare.cancel = cancel;
  prepare.progress = [&observer](const data::Progress& p) {
    observer.on_progress(p.stage, static_cast<std::int64_t>(p.done), static_cast<std::int64_t>(p.total));
  };
  setup.result = data::prepare({setup.source}, data::prepared_folder(folder), prepare);
  return setup;
}

PreparedData prepare_data(const TrainOptions& options, Observer& observer, Control& control) {
  const model::Preset preset = model::find_preset(options.preset);
  const std::string folder = data_folder(options);
  const DatasetSetup setup = prepare_dataset(options, preset.unet.image_size, observer, &control.cancel);
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
    observer.on_status("Caching T5 embeddings of every caption with " + options.t5_dir);
    const auto encoder = text::T5Encoder::from_folder(options.t5_dir, "", runtime::Precision::Float32);
    text::CacheBuildSettings cache;
    cache.max_len = preset.max_text_length;
    cache.cancel = &control.cancel;
    cache.progress = [&observer](std::int64_t done, std::int64_t total) { observer.on_progress("text embeddings", done, total); };
    prepared.text_cache = text_cache_path(folder);
    prepared.cancelled = text::build_embedding_cache(*encoder, dataset->captions(), prepared.text_cache, cache).cancelled;
  }
  return prepared;
}

} // namespace t2i::train
