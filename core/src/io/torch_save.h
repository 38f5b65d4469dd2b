// Files written by PyTorch's torch.save: the zip format (PyTorch >= 1.6: `<archive>/data.pkl`
// plus one record `<archive>/data/<key>` per storage) and the legacy format (a magic number,
// a protocol version and system info as pickles, the main pickle, the list of storage keys,
// then each storage's raw bytes prefixed by its element count).
#pragma once

#include "io/mapped_file.h"
#include "io/tensor_file.h"

#include <memory>

namespace t2i::io {

/// Whether the bytes start with the legacy format's pickled magic number.
bool looks_like_legacy_torch_save(const uint8_t* data, size_t size);

/// The state dict of a torch.save zip file (whose container the caller has recognised).
TensorMap read_torch_zip(const std::shared_ptr<MappedFile>& file);

/// The state dict of a legacy torch.save file.
TensorMap read_torch_legacy(const std::shared_ptr<MappedFile>& file);

} // namespace t2i::io
