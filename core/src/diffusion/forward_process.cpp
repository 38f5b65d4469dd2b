#include "diffusion/forward_process.h"

#include "diffusion/per_sample.h"

#include <stdexcept>

namespace t2i::diffusion {
namespace {

// The paper's per-step symbols between two levels: α_t = ᾱ_t/ᾱ_{t−1} and β_t = 1 − α_t.
struct Transition {
  double alpha_bar_prev;             // ᾱ_{t−1}
  double one_minus_alpha_bar_prev;   // 1 − ᾱ_{t−1}
  double one_minus_alpha_bar;        // 1 − ᾱ_t
  double alpha_t;                    // α_t
  double beta_t;                     // β_t
};

Transition transition(const NoiseLevel& previous, const NoiseLevel& t) {
  if (t.is_clean() || !(previous.alpha_bar() > t.alpha_bar()))
    throw std::runtime_error("diffusion/forward_process: the posterior needs an earlier, less noisy level");
  const double alpha_t = t.alpha_bar() / previous.alpha_bar();
  return {previous.alpha_bar(), previous.sigma * previous.sigma, t.sigma * t.sigma, alpha_t, 1.0 - alpha_t};
}

} // namespace

torch::Tensor q_sample(const NoiseSchedule& schedule, const torch::Tensor& x_0, const torch::Tensor& t,
                       const torch::Tensor& noise) {
  // x_t = √ᾱ_t x₀ + √(1 − ᾱ_t) ε  (Ho et al. 2020, eq. 4 reparameterised; design.md §3)
  return per_sample(schedule.alpha(t), x_0) * x_0 + per_sample(schedule.sigma(t), x_0) * noise;
}

torch::Tensor q_sample(const NoiseLevel& level, const torch::Tensor& x_0, const torch::Tensor& noise) {
  return level.alpha * x_0 + level.sigma * noise;
}

Posterior q_posterior(const NoiseLevel& previous, const NoiseLevel& t, const torch::Tensor& x_t,
                      const torch::Tensor& x_0) {
  const Transition q = transition(previous, t);
  // μ̃_t = (√ᾱ_{t−1} β_t/(1 − ᾱ_t)) x₀ + (√α_t (1 − ᾱ_{t−1})/(1 − ᾱ_t)) x_t  (the paper's §2.2)
  const double x_0_coefficient = std::sqrt(q.alpha_bar_prev) * q.beta_t / q.one_minus_alpha_bar;
  const double x_t_coefficient = std::sqrt(q.alpha_t) * q.one_minus_alpha_bar_prev / q.one_minus_alpha_bar;
  return {x_0_coefficient * x_0 + x_t_coefficient * x_t, posterior_variance(previous, t)};
}

double posterior_variance(const NoiseLevel& previous, const NoiseLevel& t) {
  const Transition q = transition(previous, t);
  return q.one_minus_alpha_bar_prev / q.one_minus_alpha_bar * q.beta_t;
}

} // namespace t2i::diffusion
