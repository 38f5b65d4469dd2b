#include "eval/reference_stats.h"

#include "io/format_version.h"
#include "io/tensor_file.h"
#include "t2i/log.h"

#include <filesystem>

namespace t2i::eval {
namespace {

const std::string& field(const io::Metadata& metadata, const std::string& key, const std::string& path) {
  const auto found = metadata.find(key);
  if (found == metadata.end()) throw io::TensorFileError(path, "FID statistics without the \"" + key + "\" entry");
  return found->second;
}

// 1.0 (t2i-studio 0.1.0) had only "format": kStatsFormat; 1.1 adds the version fields, which
// 1.0 readers ignore.
const io::JsonFormat& stats_format() {
  static const io::JsonFormat format{"FID statistics", {1, 1}, {}};
  return format;
}

/// Throws naming both versions when a newer major version wrote the file.
void check_version(const io::Metadata& metadata, const std::string& path) {
  nlohmann::json fields = nlohmann::json::object();
  for (const char* key : {"format_version", "written_by"})
    if (const auto found = metadata.find(key); found != metadata.end()) fields[key] = found->second;
  io::upgrade_document(stats_format(), fields, path);
}

} // namespace

void save_reference_stats(const std::string& path, const ReferenceStats& stats) {
  const Statistics& s = stats.statistics;
  io::TensorMap tensors{{"mu", s.mu.to(torch::kCPU, torch::kFloat64).contiguous()},
                        {"sigma", s.sigma.to(torch::kCPU, torch::kFloat64).contiguous()}};
  if (stats.features.defined()) tensors["features"] = stats.features.to(torch::kCPU, torch::kFloat32).contiguous();
  const io::Metadata metadata{{"format", kStatsFormat},
                              {"format_version", stats_format().current.text()},
                              {"written_by", io::writer_name()},
                              {"identity", stats.identity},
                              {"inception_weights_hash", stats.weights_hash},
                              {"count", std::to_string(s.count)}};
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  io::save_safetensors(path, tensors, metadata);
}

ReferenceStats load_reference_stats(const std::string& path) {
  const io::Metadata metadata = io::load_safetensors_metadata(path);
  const auto format = metadata.find("format");
  if (format == metadata.end() || format->second != kStatsFormat)
    throw io::TensorFileError(path, std::string("not a FID statistics file (expected metadata format \"") + kStatsFormat + "\")");
  check_version(metadata, path);
  const io::TensorMap tensors = io::load_tensors(path);
  ReferenceStats r;
  r.path = path;
  r.identity = field(metadata, "identity", path);
  r.weights_hash = field(metadata, "inception_weights_hash", path);
  try {
    r.statistics.count = std::stoll(field(metadata, "count", path));
  } catch (const std::logic_error&) {
    throw io::TensorFileError(path, "FID statistics with a malformed \"count\" entry");
  }
  const auto mu = tensors.find("mu");
  if (mu == tensors.end() || mu->second.dim() != 1 || mu->second.size(0) < 1)
    throw io::TensorFileError(path, "tensor 'mu' is missing or not a vector");
  const std::int64_t d = mu->second.size(0);
  r.statistics.mu = mu->second.to(torch::kFloat64);
  r.statistics.sigma = io::require(tensors, "sigma", {d, d}, path).to(torch::kFloat64);
  if (tensors.count("features"))
    r.features = io::require(tensors, "features", {r.statistics.count, d}, path).to(torch::kFloat32);
  r.reused = true;
  return r;
}

StatsIdentity peek_reference_stats(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) return {};
  io::Metadata metadata;
  try {
    metadata = io::load_safetensors_metadata(path);
  } catch (const io::TensorFileError&) {
    return {};
  }
  const auto format = metadata.find("format");
  if (format == metadata.end() || format->second != kStatsFormat) return {};
  try {
    check_version(metadata, path);
  } catch (const std::runtime_error& e) {
    log::core()->warn("{}; computing the statistics again", e.what());
    return {};
  }
  return {metadata["identity"], metadata["inception_weights_hash"]};
}

} // namespace t2i::eval
