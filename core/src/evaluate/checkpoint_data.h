// Where a checkpoint's evaluations read their images: shared by the guidance-scale analysis and
// the super-resolution PSNR evaluation.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace t2i::evaluate {

/// The prepared dataset: `cache_dir` (the prepared folder or the run data folder above it), else
/// the data folder of the checkpoint's run as the trainer chose it (`meta`: the checkpoint's).
std::string checkpoint_dataset_folder(const std::string& checkpoint, const std::string& cache_dir, const nlohmann::json& meta);

} // namespace t2i::evaluate
