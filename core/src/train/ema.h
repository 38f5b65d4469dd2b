// Exponential moving average of the weights, kept in a second copy of the networks that sampling
// and evaluation use directly (the paper's code and Imagen sample from EMA weights).
#pragma once

#include <torch/torch.h>

#include <vector>

namespace t2i::train {

class Ema {
public:
  /// `averaged` are the EMA copy's parameters, `online` the trained ones, pairwise (the model
  /// starts the copy equal to the online weights, or loads it from a checkpoint).
  Ema(std::vector<torch::Tensor> averaged, std::vector<torch::Tensor> online, double max_decay);

  /// decay_n = min(max_decay, (1 + n) / (10 + n)): early averages forget the random init quickly.
  double decay(int64_t updates) const;
  /// averaged ← decay·averaged + (1 − decay)·online, after each optimizer step.
  void update();

  int64_t updates() const { return updates_; }
  void set_updates(int64_t updates) { updates_ = updates; }

private:
  std::vector<torch::Tensor> averaged_;
  std::vector<torch::Tensor> online_;
  double max_decay_;
  int64_t updates_ = 0;
};

} // namespace t2i::train
