#include "diffusion/forward_process.h"
#include "diffusion/samplers.h"

#include <cmath>
#include <utility>

namespace t2i::diffusion {

DdpmSampler::DdpmSampler(NoiseSchedule schedule, SamplerOptions options)
    : Sampler(std::move(schedule), std::move(options)) {}

torch::Tensor DdpmSampler::step(const SamplerStep& step, SeededNoise& noise) const {
  // x_{t−1} = μ̃_t(x_t, x̂₀) + √β̃_t z, z ~ N(0, I); no noise into the clean data  (Ho et al. 2020, Alg. 2)
  const Posterior q = q_posterior(step.to, step.from, step.x_t, step.estimate.x_0);
  if (q.variance <= 0.0) return q.mean;
  return q.mean + std::sqrt(q.variance) * noise.draw(step.x_t.sizes().slice(1), step.x_t.device());
}

} // namespace t2i::diffusion
