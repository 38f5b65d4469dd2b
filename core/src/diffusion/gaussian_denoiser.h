// The exactly optimal denoiser for Gaussian data, known in closed form: with x₀ ~ N(μ, s² I) and
// x_t = α_t x₀ + σ_t ε, x_t ~ N(α_t μ, (α_t² s² + σ_t²) I) and (design.md §3)
//   E[ε | x_t]  = σ_t (x_t − α_t μ) / (α_t² s² + σ_t²)
//   E[x₀ | x_t] = μ + α_t s² (x_t − α_t μ) / (α_t² s² + σ_t²).
// Every sampler driven by it must return samples with mean μ and standard deviation s; it is
// also the elementwise stand-in for a network in the sampler benchmark.
#pragma once

#include "common/denoiser.h"
#include "diffusion/schedule.h"
#include "t2i/diffusion.h"

namespace t2i::diffusion {

/// The optimal predictor of the given kind (ε, x₀, or v = α ε − σ x₀) for data N(μ, s² I). It
/// ignores the text.
Denoiser gaussian_data_denoiser(const NoiseSchedule& schedule, double mu, double s, Prediction prediction);

} // namespace t2i::diffusion
