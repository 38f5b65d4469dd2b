#include "diffusion/guidance.h"

#include "diffusion/per_sample.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

namespace t2i::diffusion {

torch::Tensor guided_prediction(const Denoiser& model, const torch::Tensor& x_t, const torch::Tensor& t,
                                const TextCondition& text, double w, const GuidanceObserver& observer) {
  if (w == 1.0) {
    const torch::Tensor conditional = model(x_t, t, text);
    if (observer) {
      const torch::Tensor c = conditional.to(torch::kFloat32);
      const torch::Tensor unconditional = model(x_t, t, text.dropped()).to(torch::kFloat32);
      observer({x_t, t, c, unconditional, c});
    }
    return conditional;
  }
  const torch::Tensor both = model(torch::cat({x_t, x_t}), torch::cat({t, t}), TextCondition::cat(text, text.dropped()));
  // w > 1 amplifies the halves' difference: combine in at least float32, not in a bf16 output.
  const auto halves = both.to(at::promote_types(both.scalar_type(), torch::kFloat32)).chunk(2, 0);
  const torch::Tensor& conditional = halves[0];
  const torch::Tensor& unconditional = halves[1];
  // f̃ = w·f(z, c) + (1 − w)·f(z, ∅)  (the paper's §5.4)
  const torch::Tensor guided = w * conditional + (1.0 - w) * unconditional;
  if (observer) observer({x_t, t, conditional, unconditional, guided});
  return guided;
}

torch::Tensor guided_prediction(const Denoiser& model, const torch::Tensor& x_t, const torch::Tensor& t,
                                const TextCondition& text, const std::vector<double>& w) {
  if (w.empty() || static_cast<int64_t>(w.size()) != x_t.size(0))
    throw std::invalid_argument("guidance: " + std::to_string(w.size()) + " scales for a batch of " +
                                std::to_string(x_t.size(0)) + " images");
  if (std::all_of(w.begin(), w.end(), [&](double scale) { return scale == w.front(); }))
    return guided_prediction(model, x_t, t, text, w.front());
  const torch::Tensor both = model(torch::cat({x_t, x_t}), torch::cat({t, t}), TextCondition::cat(text, text.dropped()));
  const auto halves = both.to(at::promote_types(both.scalar_type(), torch::kFloat32)).chunk(2, 0);
  // The weights w and 1 − w computed in double and stored as float32, as a scalar w is multiplied.
  std::vector<double> one_minus_w;
  for (const double scale : w) one_minus_w.push_back(1.0 - scale);
  const auto per_row = [&](const std::vector<double>& values) { return per_sample(torch::tensor(values), halves[0]); };
  // f̃ = w·f(z, c) + (1 − w)·f(z, ∅), w per image  (the paper's §5.4)
  return per_row(w) * halves[0] + per_row(one_minus_w) * halves[1];
}

Denoiser classifier_free_guidance(Denoiser model, std::vector<double> w) {
  return [model = std::move(model), w = std::move(w)](const torch::Tensor& x_t, const torch::Tensor& t, const TextCondition& text) {
    return guided_prediction(model, x_t, t, text, w);
  };
}

Denoiser classifier_free_guidance(Denoiser model, double w, GuidanceObserver observer) {
  return [model = std::move(model), w, observer = std::move(observer)](const torch::Tensor& x_t, const torch::Tensor& t,
                                                                      const TextCondition& text) {
    return guided_prediction(model, x_t, t, text, w, observer);
  };
}

} // namespace t2i::diffusion
