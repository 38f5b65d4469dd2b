// The samplers behind the Sampler interface; make_sampler() picks one by SamplerKind.
#pragma once

#include "diffusion/sampler.h"

namespace t2i::diffusion {

/// DDPM ancestral sampling (Ho et al. 2020, Algorithm 2; the paper's sampler): x_s drawn from the
/// posterior q(x_s | x_t, x̂₀) with variance β̃. On a shortened grid the posterior spans the gap
/// (Nichol & Dhariwal 2021, §4).
class DdpmSampler : public Sampler {
public:
  DdpmSampler(NoiseSchedule schedule, SamplerOptions options);

protected:
  torch::Tensor step(const SamplerStep& step, SeededNoise& noise) const override;
};

/// DDIM (Song et al. 2021, eq. 12): x_s = α_s x̂₀ + √(σ_s² − c²) ε̂ + c z with c = σ_t(η).
class DdimSampler : public Sampler {
public:
  DdimSampler(NoiseSchedule schedule, SamplerOptions options);

protected:
  torch::Tensor step(const SamplerStep& step, SeededNoise& noise) const override;
};

/// DDIM's noise scale σ_t(η) = η √((1 − ᾱ_s)/(1 − ᾱ_t)) √(1 − ᾱ_t/ᾱ_s) (Song et al. 2021, eq. 16)
/// for a move from level t to the earlier level s.
double ddim_noise_scale(double eta, const NoiseLevel& s, const NoiseLevel& t);

/// DPM-Solver++(2M) (Lu et al. 2022, Algorithm 2): a deterministic second-order multistep solver
/// of the probability-flow ODE in data prediction; first order at the first step and into the
/// clean data.
class DpmSolverSampler : public Sampler {
public:
  DpmSolverSampler(NoiseSchedule schedule, SamplerOptions options);

protected:
  torch::Tensor step(const SamplerStep& step, SeededNoise& noise) const override;
};

} // namespace t2i::diffusion
