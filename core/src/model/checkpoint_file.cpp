#include "model/checkpoint_file.h"

#include "io/format_version.h"

#include <stdexcept>

namespace t2i::model {
namespace {
constexpr const char* kMetaKey = "t2i";

// 1.0 (t2i-studio 0.1.0) marked itself with "format": kCheckpointFormat instead of a version and
// stored the run folder's absolute path among the options. 2.0 stores the preset as the preset
// writer writes it, and no path into the run folder, so a moved run resumes. 2.1 adds the
// optional options probe_gallery and probe_prompts (absent: a gallery of the default probes).
const io::JsonFormat& checkpoint_format() {
  static const io::JsonFormat format{"checkpoint", {2, 1}, {[](nlohmann::json& meta) {
                                                            meta.erase("format");
                                                            if (meta.contains("options") && meta["options"].is_object())
                                                              meta["options"].erase("run_dir");
                                                          }}};
  return format;
}
} // namespace

void Checkpoint::put(const std::string& prefix, const std::vector<std::pair<std::string, torch::Tensor>>& named) {
  for (const auto& [name, tensor] : named)
    tensors[prefix + "/" + name] = tensor.detach().to(torch::kCPU).contiguous();
}

std::vector<std::pair<std::string, torch::Tensor>> Checkpoint::group(const std::string& prefix) const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  const std::string head = prefix + "/";
  for (auto it = tensors.lower_bound(head); it != tensors.end() && it->first.compare(0, head.size(), head) == 0; ++it)
    out.emplace_back(it->first.substr(head.size()), it->second);
  return out;
}

void write_checkpoint(const std::string& path, const Checkpoint& checkpoint) {
  nlohmann::json meta = checkpoint.meta;
  io::stamp_document(checkpoint_format(), meta);
  io::save_safetensors(path, checkpoint.tensors, {{kMetaKey, meta.dump()}});
}

nlohmann::json read_checkpoint_meta(const std::string& path) {
  const io::Metadata metadata = io::load_safetensors_metadata(path);
  const auto it = metadata.find(kMetaKey);
  if (it == metadata.end()) throw std::runtime_error(path + ": not a t2i-studio checkpoint (no \"t2i\" metadata)");
  auto meta = nlohmann::json::parse(it->second, nullptr, false);
  if (meta.is_discarded() || !meta.is_object()) throw std::runtime_error(path + ": unreadable checkpoint metadata");
  if (!meta.contains("format_version") && meta.value("format", "") != kCheckpointFormat)
    throw std::runtime_error(path + ": unsupported checkpoint format (neither a format_version nor " +
                             kCheckpointFormat + ")");
  io::upgrade_document(checkpoint_format(), meta, path);
  return meta;
}

Checkpoint read_checkpoint(const std::string& path) {
  Checkpoint checkpoint;
  checkpoint.meta = read_checkpoint_meta(path);
  checkpoint.tensors = io::load_tensors(path);
  return checkpoint;
}

Preset stored_preset(const nlohmann::json& meta, const std::string& origin) {
  const auto stored = meta.find("preset_json");
  if (stored == meta.end() || !stored->is_string()) throw std::runtime_error(origin + ": the checkpoint stores no preset");
  return parse_preset(stored->get<std::string>(), origin + " (stored preset)");
}

} // namespace t2i::model
