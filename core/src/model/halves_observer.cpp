#include "model/halves_observer.h"

namespace t2i::model {

HalvesObserver::HalvesObserver(AttentionObserver& whole) : whole_(whole), halves_{{*this, 0}, {*this, 1}} {}

void HalvesObserver::abandon() {
  const std::lock_guard<std::mutex> lock(mutex_);
  abandoned_ = true;
  met_.notify_all();
}

// The half that arrives second makes the call to the observer behind, so its calls come in the
// order of one pass: a half reaches a layer's call only after both have made the one before it.
// Every call to that observer is made holding the lock.
torch::Tensor HalvesObserver::Half::replace(const void* layer, const torch::Tensor& probabilities) {
  std::unique_lock<std::mutex> lock(shared_.mutex_);
  if (shared_.abandoned_) return probabilities;
  Meeting& meeting = shared_.meeting(layer, Call::Replace);
  meeting.parts[index_] = probabilities;
  if (meeting.parts[1 - index_].defined()) {
    meeting.replaced = shared_.whole_.replace(layer, torch::cat({meeting.parts[0], meeting.parts[1]}));
    shared_.met_.notify_all();
  } else {
    shared_.met_.wait(lock, [&] { return meeting.replaced.defined() || shared_.abandoned_; });
    if (!meeting.replaced.defined()) return probabilities;
  }
  const int64_t first_rows = meeting.parts[0].size(0);
  return index_ == 0 ? meeting.replaced.slice(0, 0, first_rows) : meeting.replaced.slice(0, first_rows);
}

void HalvesObserver::Half::cross_attention(const void* layer, std::int64_t height, std::int64_t width,
                                           const torch::Tensor& probabilities) {
  const std::lock_guard<std::mutex> lock(shared_.mutex_);
  if (shared_.abandoned_) return;
  Meeting& meeting = shared_.meeting(layer, Call::CrossAttention);
  meeting.parts[index_] = probabilities;
  if (meeting.parts[1 - index_].defined())
    shared_.whole_.cross_attention(layer, height, width, torch::cat({meeting.parts[0], meeting.parts[1]}));
}

} // namespace t2i::model
