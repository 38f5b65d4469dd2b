// Runs read side by side (`t2i runs list|compare`, the Train page's comparison): each run's
// summary from its folder alone, a folder of runs with the folders that are not runs, and the
// config fields in which runs differ, listed by the preset schema and the stored options.
#include "t2i/model.h"
#include "t2i/runs.h"
#include "train/run_folder.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <stdexcept>

namespace fs = std::filesystem;

namespace t2i::train {
namespace {

constexpr const char* kAbsent = "absent";

/// config.json as an object; empty when the run has none. Throws, naming the file, when it is not one.
nlohmann::json parse_config(const History& history, const std::string& run_dir) {
  if (history.config_json.empty()) return nlohmann::json::object();
  nlohmann::json config = nlohmann::json::parse(history.config_json, nullptr, false);
  if (config.is_discarded() || !config.is_object())
    throw std::runtime_error(RunFolder(run_dir, /*create=*/false).config_path() + ": not a JSON object (the file is damaged)");
  return config;
}

nlohmann::json section(const nlohmann::json& config, const char* name) {
  const auto found = config.find(name);
  return found != config.end() && found->is_object() ? *found : nlohmann::json::object();
}

RunStatus status_of(const History& history, const nlohmann::json& options, const std::string& run_dir) {
  if (history.steps.empty()) return RunStatus::Unknown;
  const StepMetrics& last = history.steps.back();
  const std::vector<RunCheckpoint> checkpoints = step_checkpoints(run_dir);
  if (checkpoints.empty() || checkpoints.back().step < last.step) return RunStatus::Interrupted;
  // The trainer's stop reasons in its order (trainer.cpp, stop_reason), as the options record them.
  const std::int64_t max_steps = options.value("max_steps", std::int64_t{0});
  if (max_steps > 0 && last.step >= max_steps) return RunStatus::Finished;
  const double max_minutes = options.value("max_minutes", 0.0);
  if (max_minutes > 0 && last.elapsed_seconds >= max_minutes * 60) return RunStatus::TimeLimit;
  if (!history.evals.empty() && history.evals.back().early_stop_in == 0) return RunStatus::EarlyStopped;
  return RunStatus::Stopped;
}

/// Each leaf of `value` under its dotted key; arrays are leaves (a list is one setting).
void flatten(const nlohmann::json& value, const std::string& key, std::map<std::string, std::string>& leaves) {
  if (!value.is_object()) {
    leaves[key] = value.dump();
    return;
  }
  for (const auto& [name, child] : value.items()) flatten(child, key + "." + name, leaves);
}

/// Every preset schema field of a run's stored preset, by "preset.<key>"; empty without a preset.
std::map<std::string, std::string> preset_fields(const nlohmann::json& config, const std::string& run_dir) {
  std::map<std::string, std::string> fields;
  const auto preset = config.find("preset");
  if (preset == config.end() || !preset->is_object()) return fields;
  // Read as a preset file is, so a run stored by an older format version lists the same fields.
  const model::Preset p =
      model::read_preset(preset->dump(), RunFolder(run_dir, /*create=*/false).config_path() + " (its preset)").preset;
  for (const model::PresetField& field : model::preset_schema())
    fields["preset." + field.key] = model::preset_value_text(field.get(p));
  return fields;
}

std::vector<ConfigDifference> config_differences(const std::vector<std::map<std::string, std::string>>& runs) {
  std::map<std::string, std::vector<std::string>> table;
  for (std::size_t r = 0; r < runs.size(); ++r)
    for (const auto& [field, value] : runs[r]) {
      auto& values = table.try_emplace(field, runs.size(), kAbsent).first->second;
      values[r] = value;
    }
  std::vector<ConfigDifference> differences;
  for (auto& [field, values] : table)
    if (std::adjacent_find(values.begin(), values.end(), std::not_equal_to<>()) != values.end())
      differences.push_back({field, std::move(values)});
  return differences;
}

template <typename T>
std::optional<double> as_number(const std::optional<T>& value) {
  if (!value) return std::nullopt;
  return static_cast<double>(*value);
}

// "base S" or "super-resolution L->S" (ASCII: tables align by bytes): the config's stage, else (before run config 2.2) the stored preset's sizes.
std::string stage_text(const nlohmann::json& config) {
  nlohmann::json stage = section(config, "stage");
  if (stage.empty()) {
    const nlohmann::json unet = section(section(config, "preset"), "unet");
    if (!unet.contains("image_size")) return "";
    const std::int64_t low = unet.value("low_res_size", std::int64_t{0});
    stage = {{"kind", low > 0 ? "super-resolution" : "base"}, {"image_size", unet.at("image_size")}, {"low_res_size", low}};
  }
  const std::string kind = stage.value("kind", "");
  const std::string size = std::to_string(stage.value("image_size", std::int64_t{0}));
  if (kind == "super-resolution") return kind + " " + std::to_string(stage.value("low_res_size", std::int64_t{0})) + "->" + size;
  return kind.empty() ? "" : kind + " " + size;
}

RunSummary summary_of(const History& history, const nlohmann::json& config, const std::string& run_dir) try {
  const nlohmann::json options = section(config, "options");
  RunSummary run;
  run.path = run_dir;
  run.name = fs::path(run_dir).lexically_normal().filename().string();
  if (run.name.empty()) run.name = fs::path(run_dir).lexically_normal().parent_path().filename().string();
  run.preset = section(config, "preset").value("name", "unknown");
  run.stage = stage_text(config);
  run.selection = options.value("selection", "");
  run.steps = history.steps.empty() ? 0 : history.steps.back().step;
  run.status = status_of(history, options, run_dir);
  run.best = best_checkpoint(run_dir);
  for (const EvalMetrics& eval : history.evals) {
    if (run.best && eval.step == run.best->step) {
      run.best_val_p2 = eval.val_p2;
      run.best_fid = eval.fid;
    }
    if (eval.fid && std::isfinite(*eval.fid)) run.lowest_fid = std::min(*eval.fid, run.lowest_fid.value_or(*eval.fid));
    if (eval.kid) run.last_kid = eval.kid;
  }
  if (!history.evals.empty()) {
    run.last_eval_step = history.evals.back().step;
    run.last_val_p2 = history.evals.back().val_p2;
  }
  if (!history.steps.empty() && history.steps.back().elapsed_seconds > 0) run.wall_seconds = history.steps.back().elapsed_seconds;
  return run;
} catch (const nlohmann::json::exception& e) {  // a field of config.json of another type than the trainer writes
  throw std::runtime_error(RunFolder(run_dir, /*create=*/false).config_path() + ": " + e.what());
}

} // namespace

std::string to_string(RunStatus status) {
  switch (status) {
    case RunStatus::Finished: return "finished";
    case RunStatus::EarlyStopped: return "early stop";
    case RunStatus::TimeLimit: return "time limit";
    case RunStatus::Stopped: return "stopped";
    case RunStatus::Interrupted: return "interrupted";
    case RunStatus::Unknown: break;
  }
  return "unknown";
}

RunSummary summarize_run(const std::string& run_dir) { return summarize_run(run_dir, read_history(run_dir)); }

RunSummary summarize_run(const std::string& run_dir, const History& history) {
  return summary_of(history, parse_config(history, run_dir), run_dir);
}

RunListing read_runs(const std::string& folder) {
  std::error_code error;
  if (!fs::is_directory(folder, error))
    throw std::runtime_error(folder + (fs::exists(folder, error) ? ": not a folder" : ": no such folder"));
  std::vector<fs::path> entries;
  for (const auto& entry : fs::directory_iterator(folder, error))
    if (entry.is_directory(error)) entries.push_back(entry.path());
  if (error) throw std::runtime_error(folder + ": cannot be read: " + error.message());
  std::sort(entries.begin(), entries.end());
  RunListing listing;
  for (const fs::path& entry : entries) {
    const std::string path = entry.string();
    if (!is_run_folder(path)) {
      listing.skipped.push_back({path, "not a training run (no config.json or metrics.jsonl)"});
      continue;
    }
    try {
      listing.runs.push_back(summarize_run(path));
    } catch (const std::exception& e) {
      listing.skipped.push_back({path, e.what()});
    }
  }
  return listing;
}

RunComparison compare_runs(const std::vector<std::string>& run_dirs) {
  RunComparison comparison;
  std::vector<std::map<std::string, std::string>> configs;
  for (const std::string& run_dir : run_dirs) {
    const History history = read_history(run_dir);
    const nlohmann::json config = parse_config(history, run_dir);
    comparison.runs.push_back(summary_of(history, config, run_dir));
    std::map<std::string, std::string> fields = preset_fields(config, run_dir);
    const auto options = config.find("options");
    if (options != config.end()) flatten(*options, "options", fields);
    configs.push_back(std::move(fields));
  }
  using Measure = std::optional<double> (*)(const RunSummary&);
  const std::vector<std::pair<const char*, Measure>> measures{
      {"steps", [](const RunSummary& r) -> std::optional<double> { return static_cast<double>(r.steps); }},
      {"best step", [](const RunSummary& r) { return r.best ? as_number(std::optional(r.best->step)) : std::nullopt; }},
      {"best val P2", [](const RunSummary& r) { return r.best_val_p2; }},
      {"best FID", [](const RunSummary& r) { return r.best_fid; }},
      {"last eval step", [](const RunSummary& r) { return as_number(r.last_eval_step); }},
      {"last val P2", [](const RunSummary& r) { return r.last_val_p2; }},
      {"lowest FID", [](const RunSummary& r) { return r.lowest_fid; }},
      {"last KID", [](const RunSummary& r) { return r.last_kid; }},
      {"wall seconds", [](const RunSummary& r) { return r.wall_seconds; }},
  };
  for (const auto& [name, measure] : measures) {
    MetricRow row{name, {}};
    for (const RunSummary& run : comparison.runs) row.values.push_back(measure(run));
    comparison.metrics.push_back(std::move(row));
  }
  comparison.config_differences = config_differences(configs);
  return comparison;
}

} // namespace t2i::train
