#include "t2i/job.h"

namespace t2i::job {

void Context::report(const Progress& progress) const {
  if (on_progress) on_progress(progress);
}

void Context::count(const std::string& stage, std::int64_t done, std::int64_t total) const {
  if (!on_progress) return;
  Progress progress;
  progress.stage = stage;
  progress.done = done;
  progress.total = total;
  on_progress(progress);
}

void Context::status(const std::string& message) const {
  if (!on_progress) return;
  Progress progress;
  progress.message = message;
  on_progress(progress);
}

Error::Error(const std::string& file, const std::string& problem)
    : std::runtime_error(file.empty() ? problem : file + ": " + problem), file_(file), problem_(problem) {}

} // namespace t2i::job
