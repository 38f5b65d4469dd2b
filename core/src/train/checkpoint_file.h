// A training checkpoint: every tensor of the run's state in one safetensors file, grouped by
// prefix ("model/", "ema/", "optim/", "text/", "text_ema/", "rng/"), plus a JSON document in the
// file's metadata (step, preset, settings, data-manifest hash, selection state). Written
// atomically through the shared tensor-file writer, so a crash mid-write keeps the previous file.
#pragma once

#include "io/tensor_file.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace t2i::train {

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

/// Reads and checks the format; throws naming the file when it is not a t2i-studio checkpoint.
Checkpoint read_checkpoint(const std::string& path);

/// Only the JSON document (cheap: reads the safetensors header, not the tensors).
nlohmann::json read_checkpoint_meta(const std::string& path);

/// A short content hash of a file (FNV-1a 64 of its bytes, hex), for provenance in PNG metadata.
std::string file_hash(const std::string& path);

} // namespace t2i::train
