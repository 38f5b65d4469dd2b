// bf16 autocast as a scope, for CPU and CUDA, keeping fp32 master weights: LibTorch C++ has no
// `torch.autocast` context manager, only the thread-local switches behind it.
#pragma once

#include <torch/torch.h>

namespace t2i::model {

/// The autocast switches of the current thread.
struct AutocastState {
  bool cpu_enabled = false;
  at::ScalarType cpu_dtype = at::kBFloat16;
  bool cuda_enabled = false;
  at::ScalarType cuda_dtype = at::kHalf;

  static AutocastState current();
};

/// Sets the autocast switches for its lifetime and restores the previous ones afterwards,
/// clearing the cache of casted weights when the outermost autocast scope ends (as Python's
/// torch.autocast does, so that updated weights are cast again).
class AutocastScope {
public:
  explicit AutocastScope(const AutocastState& state);
  /// bf16 autocast on `device_type` when `enabled`; otherwise leaves autocast as it is.
  AutocastScope(c10::DeviceType device_type, bool enabled);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

private:
  void apply(const AutocastState& state);
  AutocastState previous_;
  bool active_ = false;
};

} // namespace t2i::model
