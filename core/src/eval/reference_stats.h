// Feature statistics stored on disk: computed once for a reference image set (a dataset split, a
// folder) and reused while the Inception weights and the image set are the same ones. One
// safetensors file: "mu" and "sigma" (float64), "features" (float32, for KID), and metadata naming
// the format, the weights' hash and the image set's identity.
#pragma once

#include "eval/fid.h"

#include <string>

namespace t2i::eval {

inline constexpr const char* kStatsFormat = "t2i-fid-stats/1";

struct ReferenceStats {
  Statistics statistics;
  torch::Tensor features;       ///< [N, d] float32; undefined when not stored
  std::string identity;         ///< the image set they describe
  std::string weights_hash;     ///< FidInception::weights_hash() of the network that made them
  std::string path;             ///< the file they were read from or written to
  bool reused = false;          ///< read from an existing file rather than computed
};

/// Writes μ, Σ, the features when defined, and the identifying metadata, atomically.
void save_reference_stats(const std::string& path, const ReferenceStats& stats);

/// Reads a statistics file; throws naming the file when it is not one or its tensors disagree.
ReferenceStats load_reference_stats(const std::string& path);

/// The format and the identity of a statistics file from its header alone; empty strings when
/// `path` is absent or not a statistics file.
struct StatsIdentity {
  std::string identity;
  std::string weights_hash;
};
StatsIdentity peek_reference_stats(const std::string& path);

} // namespace t2i::eval
