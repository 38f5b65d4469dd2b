// Training-run folders as the CLI and every studio page read them: the runs a folder holds, a
// run's checkpoints by step, the best checkpoint the trainer chose, the run's metrics, and the
// options to resume it with. Part of the training facade (t2i::train, core/src/train/), in a
// header of its own because the studio's pages read run folders without running training. The
// layout itself (core/src/train/run_folder.h) stays inside the core, so no caller re-derives it.
#pragma once

#include "t2i/train.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace t2i::train {

/// A checkpoint file of a run and the training step it holds.
struct RunCheckpoint {
  std::int64_t step = 0;
  std::string path;
};

/// Whether `folder` is a training run: it has a config.json or a metrics.jsonl.
bool is_run_folder(const std::string& folder);

/// The training runs directly inside `folder`, by name; empty when `folder` does not exist.
std::vector<std::string> list_runs(const std::string& folder);

/// A run's step checkpoints (best.safetensors aside), ordered by step, oldest first.
std::vector<RunCheckpoint> step_checkpoints(const std::string& run_dir);

/// best.safetensors and the step it holds: the trainer's choice under the run's own selection
/// rule (validation P2, or P2 and FID). Unset when the run has none or its header is unreadable.
std::optional<RunCheckpoint> best_checkpoint(const std::string& run_dir);

/// The checkpoint a run offers for sampling: its best, else its newest step checkpoint.
std::optional<RunCheckpoint> offered_checkpoint(const std::string& run_dir);

/// What a run folder holds, read back for the studio's run history and for resuming.
struct History {
  std::vector<StepMetrics> steps;
  std::vector<EvalMetrics> evals;
  std::vector<std::pair<std::int64_t, std::string>> previews;  ///< (step, PNG path), by step
  std::string config_json;         ///< the run's config.json as written
  std::string best_checkpoint;     ///< empty when none
  std::optional<std::int64_t> best_step;  ///< the step best.safetensors holds, when it is readable
  std::string latest_checkpoint;   ///< empty when none
};

/// Reads a run folder (metrics.jsonl, previews/, checkpoints/). Throws when `run_dir` is not a run.
History read_history(const std::string& run_dir);

/// How far a reader following a run has read its metrics.jsonl.
struct MetricsPosition {
  std::uint64_t offset = 0;  ///< the byte after the last complete line read
  std::string last_line;     ///< that line, newline included: tells a rewritten file from a grown one
};

/// The events metrics.jsonl gained since `since`, for following a run while it trains.
struct MetricsUpdate {
  std::vector<StepMetrics> steps;
  std::vector<EvalMetrics> evals;
  std::vector<std::pair<std::int64_t, std::string>> previews;  ///< (step, PNG path)
  MetricsPosition position;  ///< where the next read starts
  /// The file no longer begins with what `since` read (a resumed run rewrote it without the
  /// steps it redoes): the events are the whole file's.
  bool restarted = false;
};

/// Reads only what was appended to `run_dir`'s metrics.jsonl after `since`, complete lines only:
/// a line still being written waits for the next read. Nothing, at `since`, while the file does
/// not exist yet. Throws, naming the file, on a damaged line.
MetricsUpdate read_metrics_update(const std::string& run_dir, const MetricsPosition& since);

/// The options `run_dir`'s run was last trained with, ready to resume it: `run_dir` and `resume`
/// set, paths inside the folder resolved against where it is now. Throws naming the folder when
/// it holds no checkpoint, or the checkpoint when it cannot be read.
TrainOptions stored_options(const std::string& run_dir);

} // namespace t2i::train
