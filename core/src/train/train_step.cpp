#include "train/train_step.h"

#include "train/stage_condition.h"

#include <cmath>

namespace t2i::train {

torch::Tensor draw_text_drop(std::int64_t b, double p, torch::Generator& generator) {
  return torch::rand({b}, generator, torch::TensorOptions().dtype(torch::kFloat64)) < p;
}

std::optional<double> accumulate_gradients(sample::TextToImageModel& model, const diffusion::DiffusionLoss& loss,
                                           const torch::Tensor& x_0, const std::vector<std::string>& captions,
                                           const diffusion::LossDraw& draw, const torch::Tensor& drop,
                                           const model::LowResCondition& low_res, std::int64_t micro_batch, const job::CancelToken* cancel,
                                           const std::function<void()>& before_last_backward,
                                           const std::function<void(const diffusion::LossTerms&)>& on_terms) {
  const std::int64_t b = x_0.size(0);
  const std::int64_t micro = std::max<std::int64_t>(1, micro_batch);
  double batch_loss = 0;
  for (std::int64_t first = 0; first < b; first += micro) {
    if (job::cancelled(cancel)) return std::nullopt;
    const std::int64_t last = std::min(b, first + micro);
    TextCondition text = model.encode({captions.begin() + first, captions.begin() + last}, /*ema=*/false);
    text.drop = text.drop.logical_or(drop.slice(0, first, last).to(text.drop.device()));
    const diffusion::LossDraw part{draw.t.slice(0, first, last), draw.noise.slice(0, first, last)};
    const diffusion::LossTerms terms =
        loss.evaluate(model.denoiser(/*ema=*/false, slice(low_res, first, last)), x_0.slice(0, first, last), text, part);
    if (on_terms) on_terms(terms);
    // Each micro-batch's mean weighs by its share of the batch, so the sum is the batch mean.
    const torch::Tensor share = terms.loss * (static_cast<double>(last - first) / static_cast<double>(b));
    if (last == b && before_last_backward) before_last_backward();
    share.backward();
    batch_loss += share.item<double>();
  }
  return batch_loss;
}

bool NonFiniteGuard::accept(double loss, double grad_norm) {
  if (std::isfinite(loss) && std::isfinite(grad_norm)) {
    in_a_row_ = 0;
    return true;
  }
  ++in_a_row_;
  ++total_;
  return false;
}

} // namespace t2i::train
