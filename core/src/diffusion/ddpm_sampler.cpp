// DDPM ancestral sampling (Ho et al. 2020, Algorithm 2; the paper's sampler): x_s drawn from the
// posterior q(x_s | x_t, x̂₀) with variance β̃. On a shortened grid the posterior spans the gap
// (Nichol & Dhariwal 2021, §4).
#include "diffusion/forward_process.h"
#include "diffusion/sampler.h"

#include <cmath>
#include <utility>

namespace t2i::diffusion {
namespace {

class DdpmSampler : public Sampler {
public:
  DdpmSampler(NoiseSchedule schedule, SamplerOptions options) : Sampler(std::move(schedule), std::move(options)) {}

protected:
  torch::Tensor step(const SamplerStep& step, SeededNoise& noise) const override {
    // x_{t−1} = μ̃_t(x_t, x̂₀) + √β̃_t z, z ~ N(0, I); no noise into the clean data  (Ho et al. 2020, Alg. 2)
    const Posterior q = q_posterior(step.to, step.from, step.x_t, step.estimate.x_0);
    if (q.variance <= 0.0) return q.mean;
    return q.mean + std::sqrt(q.variance) * noise.draw(step.x_t.sizes().slice(1), step.x_t.device());
  }
};

} // namespace

std::unique_ptr<Sampler> make_ddpm_sampler(NoiseSchedule schedule, SamplerOptions options) {
  return std::make_unique<DdpmSampler>(std::move(schedule), std::move(options));
}

} // namespace t2i::diffusion
