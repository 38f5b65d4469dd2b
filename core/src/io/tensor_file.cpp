#include "io/tensor_file.h"

#include "io/mapped_file.h"
#include "io/safetensors.h"
#include "io/shard_index.h"
#include "io/torch_save.h"
#include "io/zip_archive.h"
#include "t2i/log.h"

#include <sstream>

namespace t2i::io {
namespace {

std::string shape_text(c10::IntArrayRef shape) {
  std::ostringstream text;
  text << '[';
  for (size_t i = 0; i < shape.size(); ++i) text << (i ? ", " : "") << shape[i];
  text << ']';
  return text.str();
}

/// A single tensor file, recognised by its first bytes; an index only where `allow_index`, of
/// which only the shards holding `wanted` tensors are read.
TensorMap load_file(const std::string& path, const TensorFilter& wanted, bool allow_index) {
  const auto file = MappedFile::open(path);
  const uint8_t* data = file->data();
  const size_t size = file->size();
  if (looks_like_zip(data, size)) return read_torch_zip(file);
  if (looks_like_legacy_torch_save(data, size)) return read_torch_legacy(file);
  if (looks_like_safetensors(data, size)) return read_safetensors(file);
  if (looks_like_json_object(data, size)) {
    if (!allow_index) fail(path, "a shard cannot itself be an index");
    return read_shard_index(*file, wanted, [&](const std::string& shard) { return load_file(shard, wanted, false); });
  }
  // Not recognised. The likeliest cause is a damaged safetensors header, so say what reading it
  // as one finds.
  try {
    return read_safetensors(file);
  } catch (const TensorFileError& error) {
    const std::string problem = std::string(error.what()).substr(path.size() + 2);
    fail(path, "not a recognised tensor file (no torch.save zip or legacy file, nor a checkpoint index; read as "
               "safetensors: " + problem + ")");
  }
}

} // namespace

TensorMap load_tensors(const std::string& path) {
  return load_tensors(path, [](const std::string&) { return true; });
}

TensorMap load_tensors(const std::string& path, const TensorFilter& wanted) {
  TensorMap tensors = load_file(path, wanted, true);
  for (auto it = tensors.begin(); it != tensors.end();) it = wanted(it->first) ? std::next(it) : tensors.erase(it);
  log::core()->debug("{}: {} tensors", path, tensors.size());
  return tensors;
}

Metadata load_safetensors_metadata(const std::string& path) { return read_safetensors_metadata(path); }

void save_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata) {
  write_safetensors(path, tensors, metadata);
}

torch::Tensor require(const TensorMap& tensors, const std::string& name, c10::IntArrayRef shape, const std::string& file) {
  const auto found = tensors.find(name);
  if (found == tensors.end()) fail(file, "tensor '" + name + "' is missing");
  if (found->second.sizes() != shape)
    fail(file, "tensor '" + name + "' has shape " + shape_text(found->second.sizes()) + ", expected " + shape_text(shape));
  return found->second;
}

} // namespace t2i::io
