// A training checkpoint: every tensor of the run's state in one safetensors file, grouped by
// prefix ("model/", "ema/", "optim/", "text/", "text_ema/", "rng/"), plus a JSON document in the
// file's metadata (step, preset, settings, data-manifest hash, selection state). Written
// atomically through the shared tensor-file writer, so a crash mid-write keeps the previous file.
#pragma once

#include "io/tensor_file.h"
#include "t2i/model.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace t2i::model {

/// How t2i-studio 0.1.0 marked its checkpoints (format 1.0, read and upgraded); later ones
/// carry "format_version" and "written_by" instead (io/format_version.h).
inline constexpr const char* kCheckpointFormat = "t2i-studio-checkpoint/1";

struct Checkpoint {
  io::TensorMap tensors;
  nlohmann::json meta = nlohmann::json::object();

  /// Adds every (name, tensor) under `prefix` + "/" (copied to contiguous CPU memory).
  void put(const std::string& prefix, const std::vector<std::pair<std::string, torch::Tensor>>& named);
  /// Every tensor stored under `prefix` + "/", with the prefix removed.
  std::vector<std::pair<std::string, torch::Tensor>> group(const std::string& prefix) const;
};

void write_checkpoint(const std::string& path, const Checkpoint& checkpoint);

/// Reads a checkpoint of any released format version, upgraded to the current layout; throws
/// naming the file when it is not a t2i-studio checkpoint or a newer version wrote it.
Checkpoint read_checkpoint(const std::string& path);

/// Only the JSON document (cheap: reads the safetensors header, not the tensors).
nlohmann::json read_checkpoint_meta(const std::string& path);

/// The preset a checkpoint's document stores (`meta`: read_checkpoint's or read_checkpoint_meta's),
/// parsed in the current preset format. Throws naming `origin` when there is none or it is invalid.
Preset stored_preset(const nlohmann::json& meta, const std::string& origin);

} // namespace t2i::model
