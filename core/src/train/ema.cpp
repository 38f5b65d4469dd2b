#include "train/ema.h"

#include <algorithm>
#include <stdexcept>

namespace t2i::train {

Ema::Ema(std::vector<torch::Tensor> averaged, std::vector<torch::Tensor> online, double max_decay)
    : averaged_(std::move(averaged)), online_(std::move(online)), max_decay_(max_decay) {
  if (averaged_.size() != online_.size()) throw std::logic_error("EMA: averaged and online parameter lists differ");
}

double Ema::decay(int64_t updates) const {
  const double n = static_cast<double>(updates);
  return std::min(max_decay_, (1.0 + n) / (10.0 + n));
}

void Ema::update() {
  torch::NoGradGuard no_grad;
  const double d = decay(updates_);
  for (size_t i = 0; i < averaged_.size(); ++i) averaged_[i].lerp_(online_[i], 1.0 - d);
  ++updates_;
}

} // namespace t2i::train
