// The pieces of one optimizer step that the trainer composes: which texts are dropped for
// classifier-free guidance, gradient accumulation over micro-batches, and the non-finite guard.
#pragma once

#include "t2i/job.h"

#include "diffusion/loss.h"
#include "sample/text_to_image_model.h"

#include <torch/torch.h>

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace t2i::train {

/// [b] bool: true with probability p, the samples trained on the null text (paper §5.4: p = 0.1).
torch::Tensor draw_text_drop(std::int64_t b, double p, torch::Generator& generator);

/// Adds to the trained parameters' .grad() the gradient of the batch loss
/// (1/B) Σ_i w_i·mse_i over micro-batches of at most `micro_batch` samples: exactly the gradient
/// of one batch of B (the draw and the drop mask are the batch's, sliced). Returns the batch
/// loss, or nothing when `cancel` was set before a micro-batch (the gradients are then partial).
/// `before_last_backward` runs just before the backward that completes the gradients (data
/// parallelism starts sharing them as that backward produces them). `on_terms` sees each
/// micro-batch's per-sample losses (the loss-by-noise bins sum them). `low_res`: a super-resolution
/// stage's condition of x₀ (stage_condition.h), sliced like it; undefined for a base model.
std::optional<double> accumulate_gradients(sample::TextToImageModel& model, const diffusion::DiffusionLoss& loss,
                                           const torch::Tensor& x_0, const std::vector<std::string>& captions,
                                           const diffusion::LossDraw& draw, const torch::Tensor& drop,
                                           const model::LowResCondition& low_res,
                                           std::int64_t micro_batch, const job::CancelToken* cancel = nullptr,
                                           const std::function<void()>& before_last_backward = {},
                                           const std::function<void(const diffusion::LossTerms&)>& on_terms = {});

/// Counts steps whose loss or gradient norm is not finite; `limit` of them in a row end the run.
class NonFiniteGuard {
public:
  explicit NonFiniteGuard(int limit) : limit_(limit) {}
  /// Records a step; returns true when it is finite and may be applied.
  bool accept(double loss, double grad_norm);
  bool exhausted() const { return in_a_row_ >= limit_; }
  std::int64_t total() const { return total_; }
  void set_total(std::int64_t total) { total_ = total; }
  int limit() const { return limit_; }

private:
  int limit_;
  int in_a_row_ = 0;
  std::int64_t total_ = 0;
};

} // namespace t2i::train
