#include "sample/attention_injection.h"

#include <stdexcept>
#include <string>

namespace t2i::sample {

AttentionInjection::AttentionInjection(std::int64_t images) : images_(images) {}

void AttentionInjection::inject_first(int steps) {
  injecting_ = true;
  inject_steps_ = steps;
  step_ = 0;
  passes_.clear();
}

torch::Tensor AttentionInjection::replace(const void* layer, const torch::Tensor& probabilities) {
  // A step's first pass holds the conditional half first (the guided batch of 2B, or the
  // conditional pass alone at w = 1); a second pass (w = 1's unconditional half) is left alone.
  if (passes_[layer]++ != 0) return probabilities;
  const torch::Tensor conditional = probabilities.narrow(0, 0, images_);
  if (!injecting_) {
    if (stored_.size() <= static_cast<std::size_t>(step_)) stored_.resize(static_cast<std::size_t>(step_) + 1);
    stored_[static_cast<std::size_t>(step_)][layer] = conditional.clone();
    return probabilities;
  }
  if (step_ >= inject_steps_) return probabilities;
  const auto stored_step = static_cast<std::size_t>(step_);
  if (stored_step >= stored_.size() || stored_[stored_step].count(layer) == 0)
    throw std::logic_error("attention injection: nothing stored for step " + std::to_string(step_ + 1));
  const torch::Tensor& source = stored_[stored_step].at(layer);
  if (source.sizes() != conditional.sizes())
    throw std::invalid_argument("attention injection: the texts differ in length (attention over " +
                                std::to_string(source.size(3) - 1) + " and " + std::to_string(conditional.size(3) - 1) +
                                " text positions)");
  torch::Tensor used = probabilities.clone();
  used.narrow(0, 0, images_).copy_(source);
  return used;
}

void AttentionInjection::cross_attention(const void* layer, std::int64_t height, std::int64_t width,
                                         const torch::Tensor& probabilities) {
  if (inner_ != nullptr) inner_->cross_attention(layer, height, width, probabilities);
}

void AttentionInjection::end_step() {
  ++step_;
  passes_.clear();
}

} // namespace t2i::sample
