#include "model/autocast.h"

#include <ATen/autocast_mode.h>

namespace t2i::model {

AutocastState AutocastState::current() {
  AutocastState state;
  state.cpu_enabled = at::autocast::is_cpu_enabled();
  state.cpu_dtype = at::autocast::get_autocast_cpu_dtype();
  state.cuda_enabled = at::autocast::is_enabled();
  state.cuda_dtype = at::autocast::get_autocast_gpu_dtype();
  return state;
}

AutocastScope::AutocastScope(const AutocastState& state) : previous_(AutocastState::current()) { apply(state); }

AutocastScope::AutocastScope(c10::DeviceType device_type, bool enabled) : previous_(AutocastState::current()) {
  if (!enabled) return;
  AutocastState state = previous_;
  if (device_type == c10::DeviceType::CUDA) {
    state.cuda_enabled = true;
    state.cuda_dtype = at::kBFloat16;
  } else {
    state.cpu_enabled = true;
    state.cpu_dtype = at::kBFloat16;
  }
  apply(state);
}

void AutocastScope::apply(const AutocastState& state) {
  at::autocast::set_cpu_enabled(state.cpu_enabled);
  at::autocast::set_autocast_cpu_dtype(state.cpu_dtype);
  at::autocast::set_enabled(state.cuda_enabled);
  at::autocast::set_autocast_gpu_dtype(state.cuda_dtype);
  at::autocast::increment_nesting();
  active_ = true;
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_cpu_enabled(previous_.cpu_enabled);
  at::autocast::set_autocast_cpu_dtype(previous_.cpu_dtype);
  at::autocast::set_enabled(previous_.cuda_enabled);
  at::autocast::set_autocast_gpu_dtype(previous_.cuda_dtype);
}

} // namespace t2i::model
