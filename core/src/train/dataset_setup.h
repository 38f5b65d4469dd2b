// Everything a run needs from its data before the first step, shared by the trainer and the
// studio's data page (train::prepare_data): the demo dataset when asked for, the image cache and
// the split at the preset's image size, all under the run's data folder.
#pragma once

#include "t2i/job.h"

#include "t2i/train.h"

#include <atomic>
#include <string>

namespace t2i::train {

/// The folder of a run's data: the options' cache_dir, else <run>/data.
std::string data_folder(const TrainOptions& options);

/// The T5 text-embedding cache of a data folder.
std::string text_cache_path(const std::string& data_folder);

struct DatasetSetup {
  data::Source source;         ///< the caption file and images folder actually read
  data::PrepareResult result;  ///< the prepared folder (image cache, manifest, report)
};

/// Writes the demo dataset when the options ask for it, then prepares the data at `image_size`,
/// a job (t2i/job.h).
DatasetSetup prepare_dataset(const TrainOptions& options, int image_size, const job::Context& job);

} // namespace t2i::train
