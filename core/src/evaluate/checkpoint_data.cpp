// Where a checkpoint's evaluations read their images (t2i/evaluate.h): the guidance analysis, the
// super-resolution PSNR and the nearest-training-image search all ask this one rule.
#include "t2i/evaluate.h"

#include "t2i/data.h"
#include "data/prepared_dataset.h"
#include "model/checkpoint_file.h"
#include "train/dataset_setup.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace t2i::evaluate {

namespace fs = std::filesystem;

namespace {

// The prepared folder of the checkpoint's run, as the trainer chose it (`meta`: its document).
std::string run_data_folder(const std::string& checkpoint, const nlohmann::json& meta) {
  const nlohmann::json stored = meta.value("options", nlohmann::json::object());
  train::TrainOptions run;
  run.run_dir = fs::path(checkpoint).parent_path().parent_path().string();
  // Stored relative to the run folder since checkpoint format 2.0 (absolute in 1.0).
  const std::string cache = stored.value("data", nlohmann::json::object()).value("cache_dir", "");
  if (!cache.empty()) run.data.cache_dir = (fs::path(run.run_dir) / cache).string();
  return data::find_prepared_folder(train::data_folder(run));
}

} // namespace

std::string training_data_folder(const std::string& checkpoint, const std::string& data_dir) {
  if (!data_dir.empty()) return data::find_prepared_folder(data_dir);
  return run_data_folder(checkpoint, model::read_checkpoint_meta(checkpoint));
}

std::string training_data_folder(const std::string& checkpoint, const std::string& data_dir,
                                 const std::string& demo_cache_root, const job::Context& job) {
  if (!data_dir.empty()) return data::find_prepared_folder(data_dir);
  const nlohmann::json meta = model::read_checkpoint_meta(checkpoint);
  const std::string folder = run_data_folder(checkpoint, meta);
  std::error_code error;
  if (fs::is_regular_file(fs::path(folder) / data::kManifestFileName, error)) return folder;
  // An exported model (the shipped demo model among them) keeps no training options: the demo
  // dataset's defaults are tried, and the manifest below tells whether that was its data.
  const auto options = meta.find("options");
  const nlohmann::json stored =
      options == meta.end() ? nlohmann::json::object() : options->value("data", nlohmann::json::object());
  if (options != meta.end() && !stored.value("demo", false)) return folder;
  train::TrainOptions demo;
  demo.data.demo = true;
  demo.data.demo_images = stored.value("demo_images", demo.data.demo_images);
  demo.data.max_images = stored.value("max_images", demo.data.demo_images);
  const int size = model::stored_preset(meta, checkpoint).unet.image_size;
  demo.data.cache_dir = train::cache_folder(demo_cache_root, demo.data, size);
  const train::DatasetSetup setup = train::prepare_dataset(demo, size, job);
  if (setup.result.cancelled) return {};
  const std::string trained_on = meta.value("manifest_hash", "");
  if (!trained_on.empty() && trained_on != setup.result.manifest_hash)
    throw std::runtime_error(checkpoint + " was trained on data with manifest " + trained_on + ", which is not in " + folder +
                             " and is not the built-in demo dataset (manifest " + setup.result.manifest_hash +
                             "): choose the prepared folder of its training data");
  return setup.result.cache_dir;
}

} // namespace t2i::evaluate
