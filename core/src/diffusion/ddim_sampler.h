// DDIM's noise scale, a closed form of its own (tested against the paper's special cases).
#pragma once

#include "diffusion/schedule.h"

namespace t2i::diffusion {

/// DDIM's noise scale σ_t(η) = η √((1 − ᾱ_s)/(1 − ᾱ_t)) √(1 − ᾱ_t/ᾱ_s) (Song et al. 2021, eq. 16)
/// for a move from level t to the earlier level s.
double ddim_noise_scale(double eta, const NoiseLevel& s, const NoiseLevel& t);

} // namespace t2i::diffusion
