#include "train/run_folder.h"

#include "io/atomic_file.h"
#include "io/format_version.h"
#include "model/checkpoint_file.h"
#include "t2i/runs.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <stdexcept>

namespace fs = std::filesystem;

namespace t2i::train {
namespace {

// config.json is the run's record for people and tools; the program itself resumes from the
// checkpoints, so it only writes this format (2.0: versioned, no absolute path into the run;
// 2.1: the options' optional probe_gallery and probe_prompts; 2.2: the optional "stage", base or
// super-resolution with its sizes).
const io::JsonFormat& config_format() {
  static const io::JsonFormat format{"run config", {2, 2}, {}};
  return format;
}

std::string step_name(std::int64_t step) {
  char name[32];
  std::snprintf(name, sizeof(name), "step_%09lld", static_cast<long long>(step));
  return name;
}

/// The events of the complete lines of `text`, which starts at byte `offset` of `path`.
struct MetricsLines {
  std::vector<nlohmann::json> events;
  std::uint64_t end = 0;  ///< the byte after the last complete line
  std::string last_line;  ///< that line, newline included; empty when there is none
};

/// Parses metrics.jsonl's lines. A last line without its newline is one still being written, or
/// one a process killed mid-append left: a follower leaves it for its next read; read whole
/// (`whole_file`), it counts when it is an event and is skipped when it is not. Any other line that
/// is not a JSON object is damage the reader must not hide: it throws, naming the file and the line.
MetricsLines parse_metrics(const std::string& text, std::uint64_t offset, const std::string& path, bool whole_file) {
  MetricsLines lines;
  lines.end = offset;
  std::size_t start = 0;
  for (std::size_t number = 1; start < text.size(); ++number) {
    const std::size_t newline = text.find('\n', start);
    const bool complete = newline != std::string::npos;
    if (!complete && !whole_file) break;
    const std::size_t end = complete ? newline : text.size();
    auto event = nlohmann::json::parse(text.begin() + static_cast<std::ptrdiff_t>(start),
                                       text.begin() + static_cast<std::ptrdiff_t>(end), nullptr, false);
    const bool valid = !event.is_discarded() && event.is_object();
    if (!valid && complete)
      throw std::runtime_error(path + ": " +
                               (offset == 0 ? "line " + std::to_string(number)
                                            : "the line at byte " + std::to_string(offset + start)) +
                               " is not a metrics event (the file is damaged)");
    if (valid) lines.events.push_back(std::move(event));
    if (complete) {
      lines.last_line = text.substr(start, newline + 1 - start);
      lines.end = offset + newline + 1;
    }
    start = end + 1;
  }
  return lines;
}

/// Whether the file `in` reads still holds, just before `since.offset`, the line read last there.
bool continues(std::ifstream& in, const MetricsPosition& since) {
  if (since.offset == 0) return true;
  if (since.last_line.size() > since.offset) return false;
  std::string there(since.last_line.size(), '\0');
  in.seekg(static_cast<std::streamoff>(since.offset - since.last_line.size()));
  return in.read(there.data(), static_cast<std::streamsize>(there.size())) && there == since.last_line;
}

/// One metrics.jsonl event into the list of its kind.
void add_event(const RunFolder& folder, const nlohmann::json& e, std::vector<StepMetrics>& steps,
               std::vector<EvalMetrics>& evals, std::vector<std::pair<std::int64_t, std::string>>& previews) {
  const std::string kind = e.value("event", "");
  if (kind == "step") {
    StepMetrics m;
    m.step = e.value("step", std::int64_t{0});
    m.train_loss = e.value("train_loss", 0.0);
    m.learning_rate = e.value("lr", 0.0);
    m.grad_norm = e.value("grad_norm", 0.0);
    m.images_per_second = e.value("images_per_second", 0.0);
    m.elapsed_seconds = e.value("elapsed", 0.0);
    m.skipped_nonfinite = e.value("skipped_nonfinite", std::int64_t{0});
    m.allreduce_bytes = e.value("allreduce_bytes", std::int64_t{0});
    m.allreduce_overlapped_bytes = e.value("allreduce_overlapped_bytes", std::int64_t{0});
    m.rank_images_per_second = e.value("rank_images_per_second", std::vector<double>{});
    steps.push_back(m);
  } else if (kind == "eval") {
    EvalMetrics m;
    m.step = e.value("step", std::int64_t{0});
    m.val_p2 = e.value("val_p2", 0.0);
    if (e.contains("fid")) m.fid = e.at("fid").get<double>();
    if (e.contains("kid")) m.kid = e.at("kid").get<double>();
    m.fid_status = e.value("fid_status", "");
    m.improved = e.value("improved", false);
    m.steps_without_improvement = e.value("steps_without_improvement", std::int64_t{0});
    m.early_stop_in = e.value("early_stop_in", std::int64_t{-1});
    evals.push_back(m);
  } else if (kind == "preview") {
    previews.emplace_back(e.value("step", std::int64_t{0}), folder.resolve(e.value("path", "")));
  }
}

} // namespace

RunFolder::RunFolder(std::string root, bool create) : root_(std::move(root)) {
  if (!create) return;
  std::error_code error;
  for (const char* sub : {"", "checkpoints", "previews", "probes", "data"}) {
    fs::create_directories(fs::path(root_) / sub, error);
    if (error) throw std::runtime_error("cannot create the run folder " + (fs::path(root_) / sub).string() + ": " + error.message());
  }
}

std::string RunFolder::config_path() const { return (fs::path(root_) / "config.json").string(); }
std::string RunFolder::metrics_path() const { return (fs::path(root_) / "metrics.jsonl").string(); }
std::string RunFolder::data_dir() const { return (fs::path(root_) / "data").string(); }

std::string RunFolder::checkpoint_path(std::int64_t step) const {
  return (fs::path(root_) / "checkpoints" / (step_name(step) + ".safetensors")).string();
}

std::string RunFolder::best_checkpoint_path() const { return (fs::path(root_) / "checkpoints" / "best.safetensors").string(); }

std::string RunFolder::preview_path(std::int64_t step) const {
  return (fs::path(root_) / "previews" / (step_name(step) + ".png")).string();
}

std::string RunFolder::probes_dir() const { return (fs::path(root_) / "probes").string(); }
std::string RunFolder::probe_index_path() const { return (fs::path(root_) / "probes" / "index.json").string(); }

std::string RunFolder::probe_sheet_path(std::int64_t step) const {
  return (fs::path(root_) / "probes" / (step_name(step) + ".png")).string();
}

std::string RunFolder::relative(const std::string& path) const {
  const fs::path inside = fs::path(path).lexically_relative(root_);
  return inside.empty() || *inside.begin() == ".." ? path : inside.string();
}

std::string RunFolder::resolve(const std::string& stored) const {
  const fs::path path(stored);
  if (stored.empty()) return stored;
  if (path.is_relative()) return (fs::path(root_) / path).string();
  const fs::path here = fs::path(root_) / path.parent_path().filename() / path.filename();
  std::error_code error;
  return fs::exists(here, error) ? here.string() : stored;
}

std::vector<std::pair<std::int64_t, std::string>> RunFolder::step_checkpoints() const {
  std::vector<std::pair<std::int64_t, std::string>> found;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(fs::path(root_) / "checkpoints", error)) {
    const std::string name = entry.path().filename().string();
    long long step = 0;
    char tail[32] = {};
    if (std::sscanf(name.c_str(), "step_%lld%31s", &step, tail) == 2 && std::string(tail) == ".safetensors")
      found.emplace_back(step, entry.path().string());
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::optional<std::string> RunFolder::latest_checkpoint() const {
  const auto all = step_checkpoints();
  if (all.empty()) return std::nullopt;
  return all.back().second;
}

void RunFolder::prune_checkpoints(int keep) const {
  auto all = step_checkpoints();
  const int excess = static_cast<int>(all.size()) - std::max(keep, 1);
  for (int i = 0; i < excess; ++i) {
    std::error_code ignored;
    fs::remove(all[static_cast<size_t>(i)].second, ignored);
  }
}

int RunFolder::remove_abandoned_writes() const {
  int removed = 0;
  for (const char* sub : {"", "checkpoints", "previews", "probes"})
    removed += io::remove_abandoned_temporaries((fs::path(root_) / sub).string());
  return removed;
}

void RunFolder::write_config(const nlohmann::json& config) const {
  nlohmann::json stamped = config;
  io::stamp_document(config_format(), stamped);
  io::write_file_atomically(config_path(), stamped.dump(2) + "\n");
}


void RunFolder::append_metrics(const nlohmann::json& event) {
  if (!metrics_.is_open()) {
    metrics_.open(metrics_path(), std::ios::app);
    if (!metrics_) throw std::runtime_error("cannot append to " + metrics_path());
  }
  metrics_ << event.dump() << '\n';
  metrics_.flush();
  if (!metrics_) throw std::runtime_error("cannot write to " + metrics_path() + " (disk full?)");
}

void RunFolder::truncate_metrics_after(std::int64_t step) {
  if (metrics_.is_open()) metrics_.close();
  std::string kept;
  for (const auto& event : read_metrics(metrics_path()))
    if (event.value("step", std::int64_t{0}) <= step) kept += event.dump() + "\n";
  io::write_file_atomically(metrics_path(), kept);
}

void RunFolder::clear_metrics() {
  if (metrics_.is_open()) metrics_.close();
  io::write_file_atomically(metrics_path(), "");
}

std::vector<nlohmann::json> read_metrics(const std::string& metrics_path) {
  std::ifstream in(metrics_path, std::ios::binary);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  return parse_metrics(text, 0, metrics_path, /*whole_file=*/true).events;
}

MetricsUpdate read_metrics_update(const std::string& run_dir, const MetricsPosition& since) {
  const RunFolder folder(run_dir, /*create=*/false);
  MetricsUpdate update;
  update.position = since;
  // One stream for the check and the read: a file replaced in between is not read at the old offset.
  std::ifstream in(folder.metrics_path(), std::ios::binary);
  if (!in) return update;  // the run has not written its first event yet
  update.restarted = !continues(in, since);
  const std::uint64_t from = update.restarted ? 0 : since.offset;
  in.clear();
  in.seekg(static_cast<std::streamoff>(from));
  const std::string appended{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  MetricsLines lines = parse_metrics(appended, from, folder.metrics_path(), /*whole_file=*/false);
  for (const nlohmann::json& event : lines.events) add_event(folder, event, update.steps, update.evals, update.previews);
  if (update.restarted) update.position = {};
  if (!lines.last_line.empty()) update.position = {lines.end, std::move(lines.last_line)};
  return update;
}

bool is_run_folder(const std::string& folder) {
  const RunFolder run(folder, /*create=*/false);
  std::error_code error;
  return fs::is_regular_file(run.config_path(), error) || fs::is_regular_file(run.metrics_path(), error);
}

std::vector<std::string> list_runs(const std::string& folder) {
  std::vector<std::string> runs;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(folder, error))
    if (entry.is_directory(error) && is_run_folder(entry.path().string())) runs.push_back(entry.path().string());
  std::sort(runs.begin(), runs.end());
  return runs;
}

std::vector<RunCheckpoint> step_checkpoints(const std::string& run_dir) {
  std::vector<RunCheckpoint> checkpoints;
  for (auto& [step, path] : RunFolder(run_dir, /*create=*/false).step_checkpoints())
    checkpoints.push_back({step, std::move(path)});
  return checkpoints;
}

std::optional<RunCheckpoint> best_checkpoint(const std::string& run_dir) {
  const std::string path = RunFolder(run_dir, /*create=*/false).best_checkpoint_path();
  std::error_code error;
  if (!fs::is_regular_file(path, error)) return std::nullopt;
  // The file, not metrics.jsonl, is the record: a crash between the evaluation's line and the
  // file's rename leaves the log naming a best that was never written.
  try {
    const nlohmann::json meta = model::read_checkpoint_meta(path);
    if (!meta.contains("step") || !meta.at("step").is_number_integer()) return std::nullopt;
    return RunCheckpoint{meta.at("step").get<std::int64_t>(), path};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<RunCheckpoint> offered_checkpoint(const std::string& run_dir) {
  if (auto best = best_checkpoint(run_dir)) return best;
  auto steps = step_checkpoints(run_dir);
  if (steps.empty()) return std::nullopt;
  return std::move(steps.back());
}

History read_history(const std::string& run_dir) {
  const RunFolder folder(run_dir, /*create=*/false);
  if (!fs::exists(folder.metrics_path()) && !fs::exists(folder.config_path()))
    throw std::runtime_error(run_dir + " is not a training run folder (no metrics.jsonl or config.json)");
  History history;
  for (const nlohmann::json& event : read_metrics(folder.metrics_path()))
    add_event(folder, event, history.steps, history.evals, history.previews);
  std::ifstream config(folder.config_path());
  if (config) history.config_json.assign(std::istreambuf_iterator<char>(config), std::istreambuf_iterator<char>());
  if (fs::exists(folder.best_checkpoint_path())) history.best_checkpoint = folder.best_checkpoint_path();
  if (const auto best = best_checkpoint(run_dir)) history.best_step = best->step;
  if (const auto latest = folder.latest_checkpoint()) history.latest_checkpoint = *latest;
  return history;
}

} // namespace t2i::train
