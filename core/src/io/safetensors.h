// The safetensors format: an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets}, "__metadata__": {…}}, then raw little-endian data
// (design.md §5; https://github.com/huggingface/safetensors).
#pragma once

#include "io/mapped_file.h"
#include "io/tensor_file.h"

#include <memory>

namespace t2i::io {

/// Whether the bytes start like a safetensors file (a plausible header length, then '{').
bool looks_like_safetensors(const uint8_t* data, size_t size);

/// Every tensor of a mapped safetensors file, viewing the mapping without copying.
TensorMap read_safetensors(const std::shared_ptr<MappedFile>& file);

/// The "__metadata__" of a safetensors file, reading only its header.
Metadata read_safetensors_metadata(const std::string& path);

/// Writes `tensors` (any device, dtype among the format's) in the safetensors layout, atomically.
void write_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata);

} // namespace t2i::io
