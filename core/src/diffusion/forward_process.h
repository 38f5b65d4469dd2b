// The forward (noising) process q(x_t | x₀) and the posterior q(x_{t−1} | x_t, x₀) it implies
// (the paper's §2.2; Ho et al. 2020). Levels come from the NoiseSchedule.
#pragma once

#include "diffusion/schedule.h"

#include <torch/torch.h>

namespace t2i::diffusion {

/// x_t = α_t x₀ + σ_t ε with one time per sample: x₀ and ε [B, …], t [B].
torch::Tensor q_sample(const NoiseSchedule& schedule, const torch::Tensor& x_0, const torch::Tensor& t,
                       const torch::Tensor& noise);

/// x_t = α_t x₀ + σ_t ε at one level for the whole batch.
torch::Tensor q_sample(const NoiseLevel& level, const torch::Tensor& x_0, const torch::Tensor& noise);

/// q(x_{t−1} | x_t, x₀) = N(μ̃_t, β̃_t I).
struct Posterior {
  torch::Tensor mean;   ///< μ̃_t(x_t, x₀)
  double variance = 0;  ///< β̃_t
};

/// The posterior from level `t` back to the earlier level `previous` (t − 1 on the full grid; any
/// earlier level on a shortened one, where β_t becomes 1 − ᾱ_t/ᾱ_{t−1} across the gap).
Posterior q_posterior(const NoiseLevel& previous, const NoiseLevel& t, const torch::Tensor& x_t,
                      const torch::Tensor& x_0);

/// β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t) · β_t  (the paper's §2.2)
double posterior_variance(const NoiseLevel& previous, const NoiseLevel& t);

} // namespace t2i::diffusion
