// Classifier-free guidance (Ho & Salimans 2022; the paper's §5.4): f̃ = w·f(z, c) + (1 − w)·f(z, ∅).
//
// Guidance combines the network's outputs in the network's own parameterisation (ε, x₀ or v).
// Every conversion between them is affine in the output with coefficients shared by both halves,
// and the weights w and 1 − w sum to 1, so this is exactly ε̃ = w ε(z, c) + (1 − w) ε(z, ∅) read
// in that parameterisation: guiding x₀ or v equals guiding ε.
#pragma once

#include "common/denoiser.h"

#include <functional>
#include <vector>

namespace t2i::diffusion {

/// Both halves of one guided prediction and what guidance made of them, in the network's
/// parameterisation (float32).
struct GuidanceReport {
  const torch::Tensor& x_t;
  const torch::Tensor& t;
  const torch::Tensor& conditional;    ///< f(z, c)
  const torch::Tensor& unconditional;  ///< f(z, ∅)
  const torch::Tensor& guided;         ///< f̃, what the sampler receives
};
using GuidanceObserver = std::function<void(const GuidanceReport&)>;

/// One guided prediction. The conditional and unconditional halves run as one batch of 2B
/// (text and text.dropped()); w = 1 runs only the conditional half, and with an observer the
/// unconditional half on its own too, which leaves the prediction as it is without one.
torch::Tensor guided_prediction(const Denoiser& model, const torch::Tensor& x_t, const torch::Tensor& t,
                                const TextCondition& text, double w, const GuidanceObserver& observer = {});

/// One guided prediction with image b of the batch at scale w[b] (one trajectory at several scales
/// in one batch). Scales all equal are the single-scale prediction above, bit for bit; otherwise
/// both halves run as one batch of 2B and row b is w[b]·f(z, c) + (1 − w[b])·f(z, ∅), the same
/// arithmetic (float32 scales) as a run at w[b] alone.
torch::Tensor guided_prediction(const Denoiser& model, const torch::Tensor& x_t, const torch::Tensor& t,
                                const TextCondition& text, const std::vector<double>& w);

/// The model wrapped as a denoiser that applies guidance scale w (and shows `observer` each step's halves).
Denoiser classifier_free_guidance(Denoiser model, double w, GuidanceObserver observer = {});
/// The model wrapped as a denoiser that guides image b at scale w[b] (the batch must have w.size() images).
Denoiser classifier_free_guidance(Denoiser model, std::vector<double> w);

} // namespace t2i::diffusion
