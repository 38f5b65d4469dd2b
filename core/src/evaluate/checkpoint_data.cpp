// Where a checkpoint's evaluations read their images (t2i/evaluate.h): the guidance analysis, the
// super-resolution PSNR and the nearest-training-image search all ask this one rule.
#include "t2i/evaluate.h"

#include "t2i/data.h"
#include "model/checkpoint_file.h"
#include "train/dataset_setup.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace t2i::evaluate {

namespace fs = std::filesystem;

std::string training_data_folder(const std::string& checkpoint, const std::string& data_dir) {
  std::string folder = data_dir;
  if (folder.empty()) {
    const nlohmann::json stored = model::read_checkpoint_meta(checkpoint).value("options", nlohmann::json::object());
    train::TrainOptions run;
    run.run_dir = fs::path(checkpoint).parent_path().parent_path().string();
    // Stored relative to the run folder since checkpoint format 2.0 (absolute in 1.0).
    const std::string cache = stored.value("data", nlohmann::json::object()).value("cache_dir", "");
    if (!cache.empty()) run.data.cache_dir = (fs::path(run.run_dir) / cache).string();
    folder = train::data_folder(run);
  }
  return data::find_prepared_folder(folder);
}

} // namespace t2i::evaluate
