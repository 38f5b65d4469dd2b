// The folder of one training run and everything in it: config.json, metrics.jsonl,
// previews/step_<N>.png, probes/ (the probe gallery, t2i/probe_gallery.h) and
// checkpoints/step_<N>.safetensors plus best.safetensors.
// One owner for the layout, so the CLI, the trainer and the studio's run history agree.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace t2i::train {

class RunFolder {
public:
  /// With `create`, makes the folder and its subfolders if needed (throwing, naming the folder,
  /// when it cannot); without, only names the files of an existing run.
  explicit RunFolder(std::string root, bool create = true);

  const std::string& root() const { return root_; }
  std::string config_path() const;
  std::string metrics_path() const;
  std::string checkpoint_path(std::int64_t step) const;
  std::string best_checkpoint_path() const;
  std::string preview_path(std::int64_t step) const;
  std::string probes_dir() const;
  std::string probe_index_path() const;
  /// The probe gallery's sheet of training step `step`, inside probes_dir().
  std::string probe_sheet_path(std::int64_t step) const;
  std::string data_dir() const;

  /// `path` relative to the root when it lies inside the folder (what the run's files store, so
  /// the folder can move), else `path` unchanged.
  std::string relative(const std::string& path) const;
  /// The file a stored path names now: a relative path is inside this folder; an absolute one
  /// (t2i-studio 0.1.0 stored them, and the folder may have been copied or moved since) is the
  /// file at the same place in this folder's layout (previews/…, checkpoints/…) when there is one.
  std::string resolve(const std::string& stored) const;

  /// Checkpoints of regular steps, oldest first.
  std::vector<std::pair<std::int64_t, std::string>> step_checkpoints() const;
  /// The newest step checkpoint, if any.
  std::optional<std::string> latest_checkpoint() const;
  /// Deletes all but the newest `keep` step checkpoints (best.safetensors is separate).
  void prune_checkpoints(int keep) const;
  /// Deletes the temporary files that writes killed midway left in the run's folders (each as big
  /// as what it was writing, a checkpoint at worst); returns how many.
  int remove_abandoned_writes() const;

  /// Writes config.json atomically, stamped with its format version.
  void write_config(const nlohmann::json& config) const;

  /// Appends one event line to metrics.jsonl and flushes it, so a crash loses at most that line.
  void append_metrics(const nlohmann::json& event);
  /// Drops the events after `step` (a resumed run redoes them).
  void truncate_metrics_after(std::int64_t step);
  /// Drops every event (a fresh run redoes the steps of one that died before its first checkpoint).
  void clear_metrics();

private:
  std::string root_;
  std::ofstream metrics_;
};

/// Every event of a run's metrics.jsonl. A torn last line (no newline: a crash mid-append) is
/// skipped; any other line that is not a JSON object throws, naming the file and the line.
std::vector<nlohmann::json> read_metrics(const std::string& metrics_path);

} // namespace t2i::train
