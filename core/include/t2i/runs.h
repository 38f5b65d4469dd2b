// Training-run folders as the CLI and every studio page read them: the runs a folder holds, a
// run's checkpoints by step, the best checkpoint the trainer chose, the run's metrics, the
// options to resume it with, and runs summarised and compared side by side. Part of the training facade (t2i::train, core/src/train/), in a
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

/// How a run's training ended, as far as its folder tells: the trainer checkpoints the step it
/// stops at whenever it stops by itself or is cancelled, and stops for the first of its reasons
/// that holds (trainer.cpp, stop_reason). The folder does not record a cancel as such.
enum class RunStatus {
  Unknown,      ///< no training step recorded
  Finished,     ///< reached the max steps it was last started with
  EarlyStopped, ///< its last evaluation ended the early-stopping countdown
  TimeLimit,    ///< its training time reached the time limit it was last started with
  Stopped,      ///< ended at a checkpoint before any of those: cancelled, or its data ran out
  Interrupted,  ///< steps after its newest checkpoint: the process was killed (resume redoes them)
};
std::string to_string(RunStatus status);

/// One run as `t2i runs list` and `compare` show it, read from its folder alone.
struct RunSummary {
  std::string path;
  std::string name;           ///< the folder's name
  std::string preset;         ///< the preset's name in config.json; "unknown" without one
  /// The cascade stage it trains: "base 64" or "super-resolution 32->64"; a run config older than
  /// 2.2 has no "stage" and is read from its preset; empty without either.
  std::string stage;
  std::string selection;      ///< its best-checkpoint rule as stored ("p2" or "p2+fid"); empty when unknown
  std::int64_t steps = 0;     ///< the last training step recorded
  RunStatus status = RunStatus::Unknown;
  std::optional<RunCheckpoint> best;    ///< best_checkpoint(): the trainer's choice under `selection`
  std::optional<double> best_val_p2;    ///< the validation P2 of the evaluation at the best's step
  std::optional<double> best_fid;       ///< its FID, when that evaluation had one
  std::optional<std::int64_t> last_eval_step;
  std::optional<double> last_val_p2;    ///< the last evaluation's validation P2
  std::optional<double> lowest_fid;     ///< the lowest FID of any evaluation
  std::optional<double> last_kid;       ///< the KID of the last evaluation that measured one
  std::optional<double> wall_seconds;   ///< training time at the last step (resumes add up)
};

/// Reads one run's summary. Throws, naming the folder or file and the problem, when it is not a
/// run, its config.json is not JSON, or its metrics.jsonl is damaged.
RunSummary summarize_run(const std::string& run_dir);
/// The same from the run's history already read (read_history(run_dir)).
RunSummary summarize_run(const std::string& run_dir, const History& history);

/// A folder under a runs folder that is not listed, and why.
struct SkippedFolder {
  std::string path;
  std::string reason;
};

/// The runs directly inside a folder, by name, and the other folders there with why each is not one.
struct RunListing {
  std::vector<RunSummary> runs;
  std::vector<SkippedFolder> skipped;
};

/// Summarises every run directly inside `folder`; a folder that is not a run, or one that cannot
/// be read, is skipped with its reason. Throws only when `folder` itself is not a readable folder.
RunListing read_runs(const std::string& folder);

/// One measurement of every compared run, in the runs' order; unset where a run has none.
struct MetricRow {
  std::string name;
  std::vector<std::optional<double>> values;
};

/// A config field whose value differs between compared runs: its values as JSON text, in the
/// runs' order ("absent" where a run's config has no such field).
struct ConfigDifference {
  std::string field;  ///< "preset.<schema key>" or "options.<key>"
  std::vector<std::string> values;
};

/// Runs side by side: their summaries, their measurements as rows, and their config differences
/// (every preset schema field, and every stored training option, whose values are not all equal).
struct RunComparison {
  std::vector<RunSummary> runs;
  std::vector<MetricRow> metrics;
  std::vector<ConfigDifference> config_differences;
};

/// Compares the runs in `run_dirs`. Throws, naming the folder or file and the problem, when one
/// cannot be read (summarize_run) or its config's preset is not a valid preset.
RunComparison compare_runs(const std::vector<std::string>& run_dirs);

/// The options `run_dir`'s run was last trained with, ready to resume it: `run_dir` and `resume`
/// set, paths inside the folder resolved against where it is now. Throws naming the folder when
/// it holds no checkpoint, or the checkpoint when it cannot be read.
TrainOptions stored_options(const std::string& run_dir);

} // namespace t2i::train
