// Sharded checkpoints (Hugging Face): `*.index.json` maps each tensor name to the shard file,
// beside the index, that holds it: {"metadata": {…}, "weight_map": {name: file}}.
#pragma once

#include "io/mapped_file.h"
#include "io/tensor_file.h"

#include <functional>

namespace t2i::io {

/// Whether the bytes start like a JSON object.
bool looks_like_json_object(const uint8_t* data, size_t size);

/// Every tensor the index lists that `wanted` accepts, each read from its shard by `load_shard`
/// (each shard once; shards holding none of them are not read).
TensorMap read_shard_index(const MappedFile& index, const TensorFilter& wanted,
                           const std::function<TensorMap(const std::string&)>& load_shard);

} // namespace t2i::io
