// DPM-Solver++(2M) (Lu et al. 2022, Algorithm 2): a deterministic second-order multistep solver of
// the probability-flow ODE in data prediction; first order at the first step and into the clean data.
#include "diffusion/sampler.h"

#include <cmath>
#include <utility>

namespace t2i::diffusion {
namespace {

// λ = log(α/σ), half the log-SNR: DPM-Solver's time variable (Lu et al. 2022, §3).
double half_log_snr(const NoiseLevel& level) { return std::log(level.alpha) - std::log(level.sigma); }

class DpmSolverSampler : public Sampler {
public:
  DpmSolverSampler(NoiseSchedule schedule, SamplerOptions options) : Sampler(std::move(schedule), std::move(options)) {}

protected:
  torch::Tensor step(const SamplerStep& step, SeededNoise& /*noise*/) const override {
    // Into the clean data λ = ∞: the first-order update below reduces to x̂₀, and the second-order
    // correction's ratio r = h_{i−1}/h_i would be 0.
    if (step.to.is_clean()) return step.estimate.x_0;
    const double h = half_log_snr(step.to) - half_log_snr(step.from);
    torch::Tensor D = step.estimate.x_0;
    if (step.previous_level) {
      // D_i = (1 + 1/(2r)) x̂₀(t_{i−1}) − 1/(2r) x̂₀(t_{i−2}), r = h_{i−1}/h_i  (Lu et al. 2022, Alg. 2)
      const double r = (half_log_snr(step.from) - half_log_snr(*step.previous_level)) / h;
      D = (1.0 + 0.5 / r) * step.estimate.x_0 - (0.5 / r) * step.previous_x_0;
    }
    // x_{t_i} = (σ_{t_i}/σ_{t_{i−1}}) x_{t_{i−1}} − α_{t_i} (e^{−h_i} − 1) D_i  (Lu et al. 2022, Alg. 2)
    return (step.to.sigma / step.from.sigma) * step.x_t - step.to.alpha * std::expm1(-h) * D;
  }
};

} // namespace

std::unique_ptr<Sampler> make_dpm_solver_sampler(NoiseSchedule schedule, SamplerOptions options) {
  return std::make_unique<DpmSolverSampler>(std::move(schedule), std::move(options));
}

} // namespace t2i::diffusion
