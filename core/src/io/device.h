// Device names as users write them in options, presets and command lines ("cpu", "cuda:1").
#pragma once

#include <torch/torch.h>

#include <string>

namespace t2i::io {

/// The device `name` names: cpu or cuda[:N], the latter only where this LibTorch sees CUDA.
/// Throws std::runtime_error naming `name` otherwise.
torch::Device parse_device(const std::string& name);

} // namespace t2i::io
