// Reading and writing tensor files: safetensors (single or sharded) and PyTorch's torch.save
// formats (zip and legacy), natively, without Python.
#pragma once

#include "t2i/job.h"

#include <torch/torch.h>

#include <functional>
#include <map>
#include <stdexcept>
#include <string>

namespace t2i::io {

using TensorMap = std::map<std::string, torch::Tensor>; // name -> tensor (CPU, contiguous or a view)
using Metadata = std::map<std::string, std::string>;
/// Which tensors a caller needs, by name.
using TensorFilter = std::function<bool(const std::string&)>;

/// Every problem with a tensor file: the file and the problem.
struct TensorFileError : job::Error {
  using job::Error::Error;
};

/// Reads every tensor of a file: safetensors, a sharded safetensors index (*.index.json),
/// a torch.save zip file or a legacy torch.save file; recognised by content, not by name.
/// State dicts nested as {'state_dict': …} or {'model': …} are unwrapped.
TensorMap load_tensors(const std::string& path);

/// Only the tensors `wanted` accepts; of a sharded checkpoint, only the shards that hold them are
/// read (a T5 encoder skips the shards of its decoder).
TensorMap load_tensors(const std::string& path, const TensorFilter& wanted);

/// Header-only metadata of a safetensors file (its "__metadata__").
Metadata load_safetensors_metadata(const std::string& path);

/// Writes a safetensors file atomically (temporary file, fsync, rename): the previous file stays
/// intact if anything fails.
void save_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata = {});

/// The tensor `name` of `tensors` with exactly `shape`; a TensorFileError naming `file`, the tensor
/// and the expected/actual shapes otherwise (used when loading a model's weights).
torch::Tensor require(const TensorMap& tensors, const std::string& name, c10::IntArrayRef shape,
                      const std::string& file);

} // namespace t2i::io
