#include "diffusion/gaussian_denoiser.h"

#include "diffusion/parameterization.h"
#include "diffusion/per_sample.h"

namespace t2i::diffusion {

Denoiser gaussian_data_denoiser(const NoiseSchedule& schedule, double mu, double s, Prediction prediction) {
  return [schedule, mu, s, prediction](const torch::Tensor& x_t, const torch::Tensor& t, const TextCondition&) {
    const torch::Tensor alpha = per_sample(schedule.alpha(t), x_t);
    const torch::Tensor sigma = per_sample(schedule.sigma(t), x_t);
    const torch::Tensor variance = alpha * alpha * (s * s) + sigma * sigma;  // Var[x_t] = α² s² + σ²
    const torch::Tensor centred = x_t - alpha * mu;
    const torch::Tensor epsilon = sigma * centred / variance;
    const torch::Tensor x_0 = mu + alpha * (s * s) * centred / variance;
    return prediction == Prediction::Epsilon ? epsilon : prediction_target(prediction, x_0, epsilon, alpha, sigma);
  };
}

} // namespace t2i::diffusion
