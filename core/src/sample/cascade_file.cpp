#include "sample/cascade_file.h"

#include "io/atomic_file.h"
#include "io/format_version.h"
#include "io/text_file.h"
#include "t2i/log.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <stdexcept>

namespace fs = std::filesystem;

namespace t2i::sample {
namespace {

using nlohmann::json;

const io::JsonFormat& cascade_format() {
  static const io::JsonFormat format{"cascade", {1, 0}, {}};
  return format;
}

constexpr const char* kStageKeys[] = {"checkpoint", "guidance", "steps", "sampler", "aug"};

// Reads one cascade document; every error names the file and the key.
class StageReader {
public:
  StageReader(std::string origin, bool newer_minor) : origin_(std::move(origin)), newer_minor_(newer_minor) {}

  [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
    throw std::runtime_error(origin_ + ": " + (key.empty() ? "" : key + ": ") + problem);
  }

  // A file of this version names only keys this build knows, so an unknown one is a misspelling;
  // a newer minor version adds optional keys, which are skipped.
  void unknown_key(const std::string& key) const {
    if (!newer_minor_) fail(key, "unknown key");
    log::core()->warn("{}: {}: unknown key, ignored (the file is a newer cascade format)", origin_, key);
  }

  double number(const std::string& key, const json& value, double min, double max) const {
    if (!value.is_number()) fail(key, "expected a number, got " + io::describe_json(value));
    const double number = value.get<double>();
    if (!(number >= min && number <= max)) fail(key, value.dump() + " is out of range [" + json(min).dump() + ", " + json(max).dump() + "]");
    return number;
  }

  int positive_integer(const std::string& key, const json& value) const {
    if (!value.is_number_integer() || value.get<long long>() < 1 || value.get<long long>() > 100000)
      fail(key, "expected an integer in [1, 100000], got " + io::describe_json(value));
    return static_cast<int>(value.get<long long>());
  }

  std::string text(const std::string& key, const json& value) const {
    if (!value.is_string()) fail(key, "expected a string, got " + io::describe_json(value));
    return value.get<std::string>();
  }

private:
  std::string origin_;
  bool newer_minor_;
};

CascadeStage read_stage(const StageReader& reader, const std::string& key, const json& stage, const fs::path& folder,
                        bool is_base, bool check_files) {
  if (!stage.is_object()) reader.fail(key, "expected an object, got " + io::describe_json(stage));
  for (const auto& item : stage.items())
    if (std::find(std::begin(kStageKeys), std::end(kStageKeys), item.key()) == std::end(kStageKeys))
      reader.unknown_key(key + "." + item.key());
  CascadeStage out;
  const auto checkpoint = stage.find("checkpoint");
  if (checkpoint == stage.end()) reader.fail(key + ".checkpoint", "missing");
  const std::string path = reader.text(key + ".checkpoint", *checkpoint);
  if (path.empty()) reader.fail(key + ".checkpoint", "must not be empty");
  out.checkpoint = (folder / fs::path(path)).lexically_normal().string();
  std::error_code error;
  if (check_files && !fs::is_regular_file(out.checkpoint, error))
    reader.fail(key + ".checkpoint", "no checkpoint file " + out.checkpoint);
  if (const auto found = stage.find("guidance"); found != stage.end())
    out.guidance = reader.number(key + ".guidance", *found, 0.0, 1000.0);
  if (const auto found = stage.find("steps"); found != stage.end()) out.steps = reader.positive_integer(key + ".steps", *found);
  if (const auto found = stage.find("sampler"); found != stage.end()) {
    const std::string name = reader.text(key + ".sampler", *found);
    try {
      out.sampler = diffusion::parse_sampler_kind(name);
    } catch (const std::runtime_error& e) {
      reader.fail(key + ".sampler", e.what());
    }
  }
  if (const auto found = stage.find("aug"); found != stage.end()) {
    if (is_base) reader.fail(key + ".aug", "the base stage has no low-resolution input to augment");
    out.aug = reader.number(key + ".aug", *found, 0.0, 1.0);
  }
  return out;
}

// `checkpoint` (relative to the working folder, as paths in a program are) relative to `folder`
// when it lies inside it, else absolute: either way the reader, which resolves against the
// cascade's folder, finds the same file.
std::string portable(const std::string& checkpoint, const fs::path& folder) {
  std::error_code error;
  const fs::path absolute = fs::absolute(checkpoint, error).lexically_normal();
  const fs::path relative = absolute.lexically_relative(fs::absolute(folder, error).lexically_normal());
  const bool inside = !relative.empty() && *relative.begin() != "..";
  return inside ? relative.string() : absolute.string();
}

fs::path folder_of(const std::string& path) {
  std::error_code error;
  const fs::path absolute = fs::absolute(path, error);
  return (error ? fs::path(path) : absolute).parent_path();
}

} // namespace

Cascade parse_cascade(const std::string& json_text, const std::string& origin, const std::string& folder, bool check_files) {
  json document;
  const io::VersionCheck version = io::parse_document(cascade_format(), json_text, origin, document);
  const StageReader reader(origin, version.newer_minor);
  for (const auto& item : document.items())
    if (item.key() != "stages") reader.unknown_key(item.key());
  const auto stages = document.find("stages");
  if (stages == document.end()) reader.fail("stages", "missing (a list of stages, the base model first)");
  if (!stages->is_array()) reader.fail("stages", "expected an array, got " + io::describe_json(*stages));
  if (stages->size() < 2)
    reader.fail("stages", "needs the base stage and at least one super-resolution stage, got " + std::to_string(stages->size()));
  Cascade cascade;
  for (std::size_t i = 0; i < stages->size(); ++i)
    cascade.stages.push_back(read_stage(reader, "stages[" + std::to_string(i) + "]", (*stages)[i], folder, i == 0, check_files));
  return cascade;
}

std::string cascade_to_json(const Cascade& cascade, const std::string& folder) {
  json document;
  io::stamp_document(cascade_format(), document);
  json stages = json::array();
  for (const CascadeStage& stage : cascade.stages) {
    json entry{{"checkpoint", portable(stage.checkpoint, folder)}};
    if (stage.guidance) entry["guidance"] = *stage.guidance;
    if (stage.steps) entry["steps"] = *stage.steps;
    if (stage.sampler) entry["sampler"] = diffusion::to_string(*stage.sampler);
    if (stage.aug) entry["aug"] = *stage.aug;
    stages.push_back(std::move(entry));
  }
  document["stages"] = std::move(stages);
  return document.dump(2) + "\n";
}

Cascade read_cascade(const std::string& path) {
  return parse_cascade(io::read_text_file(path, "the cascade file"), path, folder_of(path).string());
}

void write_cascade(const Cascade& cascade, const std::string& path) {
  io::write_file_atomically(path, cascade_to_json(cascade, folder_of(path).string()));
}

} // namespace t2i::sample
