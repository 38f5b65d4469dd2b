#include "train/run_folder.h"

#include "io/atomic_file.h"
#include "io/format_version.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

namespace fs = std::filesystem;

namespace t2i::train {
namespace {

// config.json is the run's record for people and tools; the program itself resumes from the
// checkpoints, so it only writes this format (2.0: versioned, no absolute path into the run).
const io::JsonFormat& config_format() {
  static const io::JsonFormat format{"run config", {2, 0}, {}};
  return format;
}

std::string step_name(std::int64_t step) {
  char name[32];
  std::snprintf(name, sizeof(name), "step_%09lld", static_cast<long long>(step));
  return name;
}

} // namespace

RunFolder::RunFolder(std::string root, bool create) : root_(std::move(root)) {
  if (!create) return;
  std::error_code error;
  for (const char* sub : {"", "checkpoints", "previews", "data"}) {
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

std::vector<nlohmann::json> read_metrics(const std::string& metrics_path) {
  std::vector<nlohmann::json> events;
  std::ifstream in(metrics_path);
  std::string line;
  while (std::getline(in, line)) {
    auto event = nlohmann::json::parse(line, nullptr, false);
    if (!event.is_discarded() && event.is_object()) events.push_back(std::move(event));
  }
  return events;
}

} // namespace t2i::train
