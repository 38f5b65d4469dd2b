// DDIM (Song et al. 2021, eq. 12): x_s = α_s x̂₀ + √(σ_s² − c²) ε̂ + c z with c = σ_t(η).
#include "diffusion/ddim_sampler.h"

#include "diffusion/sampler.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

namespace t2i::diffusion {

double ddim_noise_scale(double eta, const NoiseLevel& s, const NoiseLevel& t) {
  // σ_t(η) = η √((1 − ᾱ_{t−1})/(1 − ᾱ_t)) √(1 − ᾱ_t/ᾱ_{t−1})  (Song et al. 2021, eq. 16)
  return eta * std::sqrt((s.sigma * s.sigma) / (t.sigma * t.sigma)) * std::sqrt(1.0 - t.alpha_bar() / s.alpha_bar());
}

namespace {

class DdimSampler : public Sampler {
public:
  DdimSampler(NoiseSchedule schedule, SamplerOptions options) : Sampler(std::move(schedule), std::move(options)) {
    if (!(this->options().eta >= 0.0 && this->options().eta <= 1.0))
      throw std::runtime_error("diffusion/ddim: η must be in [0, 1], got " + std::to_string(this->options().eta));
  }

protected:
  torch::Tensor step(const SamplerStep& step, SeededNoise& noise) const override {
    const NoiseLevel& s = step.to;
    const double c = ddim_noise_scale(options().eta, s, step.from);
    // x_{t−1} = √ᾱ_{t−1} x̂₀ + √(1 − ᾱ_{t−1} − σ_t²) ε̂ + σ_t z  (Song et al. 2021, eq. 12)
    const double direction = std::sqrt(std::max(0.0, s.sigma * s.sigma - c * c));
    torch::Tensor x = s.alpha * step.estimate.x_0 + direction * step.estimate.epsilon;
    if (c > 0.0) x = x + c * noise.draw(step.x_t.sizes().slice(1), step.x_t.device());
    return x;
  }
};

} // namespace

std::unique_ptr<Sampler> make_ddim_sampler(NoiseSchedule schedule, SamplerOptions options) {
  return std::make_unique<DdimSampler>(std::move(schedule), std::move(options));
}

} // namespace t2i::diffusion
