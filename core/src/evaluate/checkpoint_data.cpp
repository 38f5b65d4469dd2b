#include "evaluate/checkpoint_data.h"

#include "data/prepared_dataset.h"
#include "train/dataset_setup.h"

#include <filesystem>

namespace t2i::evaluate {

namespace fs = std::filesystem;

std::string checkpoint_dataset_folder(const std::string& checkpoint, const std::string& cache_dir, const nlohmann::json& meta) {
  fs::path folder = cache_dir;
  if (folder.empty()) {
    const nlohmann::json stored = meta.value("options", nlohmann::json::object());
    train::TrainOptions run;
    run.run_dir = fs::path(checkpoint).parent_path().parent_path().string();
    // Stored relative to the run folder since checkpoint format 2.0 (absolute in 1.0).
    const std::string cache = stored.value("data", nlohmann::json::object()).value("cache_dir", "");
    if (!cache.empty()) run.data.cache_dir = (fs::path(run.run_dir) / cache).string();
    folder = train::data_folder(run);
  }
  if (!fs::exists(folder / data::kManifestFileName)) folder = data::prepared_folder(folder.string());
  return folder.string();
}

} // namespace t2i::evaluate
