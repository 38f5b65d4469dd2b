// Resuming a run from its folder alone: the folder's newest checkpoint records the preset, the
// data source and every option the run was started with.
#pragma once

#include "t2i/train.h"

#include <string>

namespace t2i::train {

/// The options `run_dir`'s run was last trained with, ready to resume it: `run_dir` and `resume`
/// set, paths inside the folder resolved against where it is now. Throws naming the folder when
/// it holds no checkpoint, or the checkpoint when it cannot be read.
TrainOptions stored_options(const std::string& run_dir);

} // namespace t2i::train
