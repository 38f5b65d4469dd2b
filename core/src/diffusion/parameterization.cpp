#include "diffusion/parameterization.h"

namespace t2i::diffusion {

Estimate to_estimate(Prediction prediction, const torch::Tensor& output, const torch::Tensor& x_t,
                     const torch::Tensor& alpha, const torch::Tensor& sigma) {
  switch (prediction) {
    case Prediction::Epsilon:
      // x̂₀ = (x_t − σ ε̂)/α  (Ho et al. 2020, eq. 15)
      return {(x_t - sigma * output) / alpha, output};
    case Prediction::X0:
      return {output, epsilon_from_x0(x_t, output, alpha, sigma)};
    case Prediction::V:
      // x̂₀ = α x_t − σ v̂, ε̂ = σ x_t + α v̂  (Salimans & Ho 2022; uses α² + σ² = 1)
      return {alpha * x_t - sigma * output, sigma * x_t + alpha * output};
  }
  throw std::runtime_error("diffusion/parameterization: unknown prediction kind");
}

torch::Tensor prediction_target(Prediction prediction, const torch::Tensor& x_0, const torch::Tensor& epsilon,
                                const torch::Tensor& alpha, const torch::Tensor& sigma) {
  switch (prediction) {
    case Prediction::Epsilon: return epsilon;
    case Prediction::X0: return x_0;
    case Prediction::V: return alpha * epsilon - sigma * x_0;  // v = α ε − σ x₀  (design.md §3)
  }
  throw std::runtime_error("diffusion/parameterization: unknown prediction kind");
}

torch::Tensor epsilon_from_x0(const torch::Tensor& x_t, const torch::Tensor& x_0, const torch::Tensor& alpha,
                              const torch::Tensor& sigma) {
  return (x_t - alpha * x_0) / sigma;
}

} // namespace t2i::diffusion
