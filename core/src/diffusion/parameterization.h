// What a network's output means. A network predicts ε (the paper's default), x₀, or
// v = α ε − σ x₀ (Salimans & Ho 2022); given x_t = α x₀ + σ ε any one of them determines the
// other two (design.md §3).
#pragma once

#include "t2i/diffusion.h"

#include <torch/torch.h>

namespace t2i::diffusion {

/// A prediction read in both the data and the noise coordinates.
struct Estimate {
  torch::Tensor x_0;      ///< x̂₀
  torch::Tensor epsilon;  ///< ε̂, with x_t = α x̂₀ + σ ε̂
};

/// α and σ are scalars (0-dim) or per-sample coefficients shaped to broadcast over x_t
/// (see per_sample.h). Reading ε at α ≈ 0 or x₀ at σ ≈ 0 amplifies rounding; the schedule keeps
/// both away from 0 wherever a network is evaluated.
Estimate to_estimate(Prediction prediction, const torch::Tensor& output, const torch::Tensor& x_t,
                     const torch::Tensor& alpha, const torch::Tensor& sigma);

/// The output of a perfect network of the given kind for (x₀, ε): the training target.
torch::Tensor prediction_target(Prediction prediction, const torch::Tensor& x_0, const torch::Tensor& epsilon,
                                const torch::Tensor& alpha, const torch::Tensor& sigma);

/// ε̂ = (x_t − α x̂₀)/σ: the noise that goes with a (possibly thresholded) x̂₀.
torch::Tensor epsilon_from_x0(const torch::Tensor& x_t, const torch::Tensor& x_0, const torch::Tensor& alpha,
                              const torch::Tensor& sigma);

} // namespace t2i::diffusion
