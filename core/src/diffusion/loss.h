// The training objective: per-sample pixel-mean squared error between the network's output and
// its target at a uniformly drawn time, weighted per sample (design.md §3; the paper's §5.5).
//
// The weighting multiplies the error in the network's own parameterisation. Simple and P2 are
// defined as Ho 2020 and Choi 2022 define them for ε; min-SNR-γ follows Hang 2023 for each
// parameterisation (min(SNR, γ)/SNR for ε, min(SNR, γ) for x₀, min(SNR, γ)/(SNR + 1) for v), so
// that it is the same weighting of the x₀ error whatever the network predicts.
#pragma once

#include "common/denoiser.h"
#include "diffusion/schedule.h"
#include "t2i/diffusion.h"

#include <torch/torch.h>

namespace t2i::diffusion {

struct LossOptions {
  Prediction prediction = Prediction::Epsilon;
  Weighting weighting = Weighting::P2;
  double p2_k = 1.0;          ///< k in 1/(k + SNR)^γ (the paper's code: 1)
  double p2_gamma = 0.5;      ///< γ in 1/(k + SNR)^γ (the paper's code: 0.5; 0 gives the simple loss)
  double min_snr_gamma = 5.0; ///< γ in min(SNR, γ) (Hang et al. 2023)
};

/// The randomness of one loss evaluation. Validation fixes it so evaluations are comparable.
struct LossDraw {
  torch::Tensor t;      ///< [B] diffusion times
  torch::Tensor noise;  ///< ε, shaped like x₀
};

struct LossTerms {
  torch::Tensor t;         ///< [B] the times used
  torch::Tensor mse;       ///< [B] pixel-mean squared error, unweighted
  torch::Tensor weight;    ///< [B] w(t)
  torch::Tensor weighted;  ///< [B] w(t)·mse
  torch::Tensor loss;      ///< scalar mean of `weighted`: what training minimises (differentiable)
};

/// The P2 weight of each SNR: w = 1/(k + SNR)^γ  (Choi et al. 2022; the paper's §5.5).
torch::Tensor p2_weight(const torch::Tensor& snr, double k, double gamma);

class DiffusionLoss {
public:
  /// Throws for P2 with k ≤ 0 and γ > 0 (unbounded weights), a negative P2 γ, or min-SNR γ ≤ 0.
  DiffusionLoss(NoiseSchedule schedule, LossOptions options);

  const LossOptions& options() const { return options_; }
  const NoiseSchedule& schedule() const { return schedule_; }

  /// Uniform times and standard normal noise for x₀ [B, …], drawn from `generator` (on its
  /// device) and placed on x₀'s device.
  LossDraw draw(const torch::Tensor& x_0, torch::Generator& generator) const;

  /// The loss at the given times and noise; the model sees x_t = α_t x₀ + σ_t ε.
  LossTerms evaluate(const Denoiser& model, const torch::Tensor& x_0, const TextCondition& text,
                     const LossDraw& draw) const;

  /// draw() then evaluate().
  LossTerms operator()(const Denoiser& model, const torch::Tensor& x_0, const TextCondition& text,
                       torch::Generator& generator) const;

  /// w(t) for times t [B], float32 on t's device.
  torch::Tensor weight(const torch::Tensor& t) const;

private:
  NoiseSchedule schedule_;
  LossOptions options_;
};

} // namespace t2i::diffusion
