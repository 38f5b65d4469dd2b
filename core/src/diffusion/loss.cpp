#include "diffusion/loss.h"

#include "diffusion/forward_process.h"
#include "diffusion/parameterization.h"
#include "diffusion/per_sample.h"

#include <stdexcept>
#include <string>
#include <utility>

namespace t2i::diffusion {

DiffusionLoss::DiffusionLoss(NoiseSchedule schedule, LossOptions options)
    : schedule_(std::move(schedule)), options_(options) {
  if (options_.weighting == Weighting::P2 &&
      (options_.p2_gamma < 0.0 || (options_.p2_gamma > 0.0 && !(options_.p2_k > 0.0))))
    throw std::runtime_error("diffusion/loss: P2 needs γ ≥ 0 and k > 0, got k = " + std::to_string(options_.p2_k) +
                             ", γ = " + std::to_string(options_.p2_gamma));
  if (options_.weighting == Weighting::MinSnr && !(options_.min_snr_gamma > 0.0))
    throw std::runtime_error("diffusion/loss: min-SNR needs γ > 0, got " + std::to_string(options_.min_snr_gamma));
}

torch::Tensor p2_weight(const torch::Tensor& snr, double k, double gamma) {
  return (k + snr).pow(-gamma);  // w = 1/(k + SNR)^γ  (Choi et al. 2022; the paper's §5.5)
}

torch::Tensor DiffusionLoss::weight(const torch::Tensor& t) const {
  const torch::Tensor snr = schedule_.snr(t);
  torch::Tensor w;
  switch (options_.weighting) {
    case Weighting::Simple: w = torch::ones_like(snr); break;  // Ho et al. 2020, eq. 14
    case Weighting::P2: w = p2_weight(snr, options_.p2_k, options_.p2_gamma); break;
    case Weighting::MinSnr: {
      const torch::Tensor clipped = snr.clamp_max(options_.min_snr_gamma);  // min(SNR(t), γ)  (Hang et al. 2023)
      switch (options_.prediction) {
        case Prediction::Epsilon: w = clipped / snr; break;
        case Prediction::X0: w = clipped; break;
        case Prediction::V: w = clipped / (snr + 1.0); break;
      }
      break;
    }
  }
  return w.to(torch::kFloat32);
}

LossDraw DiffusionLoss::draw(const torch::Tensor& x_0, torch::Generator& generator) const {
  const torch::Tensor t = schedule_.sample_times(x_0.size(0), generator);
  const torch::Tensor noise =
      torch::randn(x_0.sizes(), generator, torch::TensorOptions().dtype(torch::kFloat32).device(generator.device()));
  return {t.to(x_0.device()), noise.to(x_0.device())};
}

LossTerms DiffusionLoss::evaluate(const Denoiser& model, const torch::Tensor& x_0, const TextCondition& text,
                                  const LossDraw& draw) const {
  if (!draw.t.defined() || !draw.noise.defined() || draw.t.dim() != 1 || draw.t.size(0) != x_0.size(0) ||
      draw.noise.sizes() != x_0.sizes())
    throw std::runtime_error("diffusion/loss: the times must be [B] and the noise shaped like x₀");
  const torch::Tensor x = x_0.to(torch::kFloat32);
  const torch::Tensor noise = draw.noise.to(torch::kFloat32);
  const torch::Tensor x_t = q_sample(schedule_, x, draw.t, noise);
  const torch::Tensor target = prediction_target(options_.prediction, x, noise, per_sample(schedule_.alpha(draw.t), x),
                                                 per_sample(schedule_.sigma(draw.t), x));
  const torch::Tensor output = model(x_t, draw.t, text).to(torch::kFloat32);
  // Per-sample mean over pixels of (prediction − target)²  (design.md §3)
  const torch::Tensor mse = (output - target).pow(2).flatten(1).mean(1);
  const torch::Tensor w = weight(draw.t).to(mse.device());
  const torch::Tensor weighted = w * mse;
  return {draw.t, mse, w, weighted, weighted.mean()};
}

LossTerms DiffusionLoss::operator()(const Denoiser& model, const torch::Tensor& x_0, const TextCondition& text,
                                    torch::Generator& generator) const {
  return evaluate(model, x_0, text, draw(x_0, generator));
}

} // namespace t2i::diffusion
