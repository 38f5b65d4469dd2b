// AdamW with its whole state in plain tensors, so a checkpoint stores it by parameter name and a
// resumed run continues bit-identically.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace t2i::train {

struct AdamWOptions {
  double lr = 1e-4;        // the paper's learning rate (§7)
  double beta1 = 0.9;
  double beta2 = 0.99;     // the paper's code uses betas (0.9, 0.99)
  double eps = 1e-8;
  double weight_decay = 0.0;
};

/// Loshchilov & Hutter 2019 (decoupled weight decay), the update of torch.optim.AdamW.
class AdamW {
public:
  AdamW(std::vector<std::pair<std::string, torch::Tensor>> named_parameters, AdamWOptions options);

  /// One update with learning rate `lr` from the parameters' current .grad(); parameters without
  /// a gradient are left alone.
  void step(double lr);
  void zero_grad();

  int64_t steps() const { return steps_; }
  const AdamWOptions& options() const { return options_; }

  /// Moments by parameter name, "exp_avg/<name>" and "exp_avg_sq/<name>".
  std::vector<std::pair<std::string, torch::Tensor>> state() const;
  /// Restores what state() returned (shapes checked) and the step count.
  void load_state(const std::vector<std::pair<std::string, torch::Tensor>>& state, int64_t steps);

private:
  struct Slot {
    std::string name;
    torch::Tensor param;
    torch::Tensor exp_avg;
    torch::Tensor exp_avg_sq;
  };
  std::vector<Slot> slots_;
  AdamWOptions options_;
  int64_t steps_ = 0;
};

} // namespace t2i::train
