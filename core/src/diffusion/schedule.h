// The noise schedule: the one place that knows α_t, σ_t, SNR(t), log-SNR(t), ᾱ_t and β_t, for
// discrete schedules over T steps and continuous log-SNR schedules alike (design.md §3).
//
// Time. Every module speaks of diffusion time t ∈ [0, 1], the value the network receives:
// t = 0 is the clean data, t = 1 the noisiest level. A discrete schedule's step i ∈ {0 … T−1}
// (the paper's t = i + 1) sits at time (i + 1)/T; any other time is read at the nearest step, and
// times below 1/(2T) are the clean data. time_of_step / step_of_time are that mapping.
#pragma once

#include "t2i/diffusion.h"

#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <vector>

namespace t2i::diffusion {

/// One noise level: x_t = α x₀ + σ ε with α² + σ² = 1 (variance preserving).
struct NoiseLevel {
  double t = 0;      ///< diffusion time, as passed to the network
  double alpha = 1;  ///< α_t = √ᾱ_t
  double sigma = 0;  ///< σ_t = √(1 − ᾱ_t)

  double alpha_bar() const { return alpha * alpha; }
  /// λ = log(α²/σ²); +∞ for clean data.
  double log_snr() const { return 2.0 * (std::log(alpha) - std::log(sigma)); }
  bool is_clean() const { return sigma == 0.0; }

  static NoiseLevel clean() { return {}; }
};

/// The lowest log-SNR a sampler starts from (NoiseSchedule::sampling_start). Chosen by measuring
/// the shipped demo model without thresholding: below it the first steps' error swamps the image.
constexpr double kMinSamplingLogSnr = -10.0;

class NoiseSchedule {
public:
  /// Throws std::runtime_error for a step count the schedule cannot have (e.g. linear β reaching 1).
  explicit NoiseSchedule(const ScheduleSpec& spec);

  const ScheduleSpec& spec() const { return spec_; }
  bool is_discrete() const { return spec_.steps > 0; }
  /// T for a discrete schedule, 0 for a continuous one.
  int64_t steps() const { return spec_.steps; }

  /// The network's time input for discrete step i: (i + 1)/T.
  double time_of_step(int64_t i) const;
  /// The discrete step nearest to time t, or −1 for the clean data.
  int64_t step_of_time(double t) const;

  /// Elementwise over a tensor of times (any float dtype); float64 results on t's device.
  torch::Tensor alpha_bar(const torch::Tensor& t) const;  ///< ᾱ_t = α_t²
  torch::Tensor alpha(const torch::Tensor& t) const;      ///< α_t
  torch::Tensor sigma(const torch::Tensor& t) const;      ///< σ_t
  torch::Tensor snr(const torch::Tensor& t) const;        ///< α_t² / σ_t²
  torch::Tensor log_snr(const torch::Tensor& t) const;    ///< log SNR(t)

  NoiseLevel level(double t) const;

  /// β_t and ᾱ_t of a discrete schedule, float64 [T], indexed by step i (the paper's t − 1).
  /// Throws for a continuous schedule.
  const torch::Tensor& betas() const;
  const torch::Tensor& alphas_cumprod() const;

  /// Where sampling starts: the latest time whose log-SNR is at least kMinSamplingLogSnr (on a
  /// discrete schedule, that step's time). Near t = 1 the cosine schedule's α is ~5e-5, and
  /// x̂₀ = (x_t − σ ε̂)/α would multiply the network's error in ε̂ by ~2·10⁴.
  double sampling_start() const { return sampling_start_; }

  /// The latest continuous time whose log-SNR is at least λ (λ(t) falls as t grows), found by
  /// bisection; 1 when even λ(1) is. For a discrete schedule it is the continuous bound between steps.
  double continuous_time_of_log_snr(double lambda) const;

  /// The most sampling steps a discrete schedule gives (the steps from sampling_start() down);
  /// 0 for a continuous one, which takes any number.
  int64_t max_sampling_steps() const;

  /// The times a sampler evaluates the network at with `steps` evaluations, noisiest first:
  /// t_k = t_max·k/N for k = N … 1 with t_max = sampling_start(); on a discrete schedule whose
  /// start is step M − 1, the steps round(k·M/N) − 1 (all M of them when N = M). After t_1 a sampler
  /// lands on the clean data. Throws unless 1 ≤ N (≤ M).
  std::vector<double> sampling_times(int64_t steps) const;

  /// Uniform training times for a batch, float32 on the generator's device: (i + 1)/T with
  /// i ~ U{0 … T−1}, or t ~ U[0, 1) in continuous time.
  torch::Tensor sample_times(int64_t batch, torch::Generator& generator) const;

private:
  /// α_t² and σ_t² as float64 tensors, each computed directly (1 − ᾱ by subtraction loses the
  /// digits that matter near t = 0).
  std::pair<torch::Tensor, torch::Tensor> variances(const torch::Tensor& t) const;
  torch::Tensor continuous_log_snr(const torch::Tensor& t) const;
  torch::Tensor steps_of_times(const torch::Tensor& t) const;
  double find_sampling_start() const;

  ScheduleSpec spec_;
  double sampling_start_ = 1.0;     ///< find_sampling_start(), once
  torch::Tensor betas_;             ///< β_t per step
  torch::Tensor alphas_cumprod_;    ///< ᾱ_t per step
  torch::Tensor one_minus_alphas_cumprod_;  ///< 1 − ᾱ_t per step
};

} // namespace t2i::diffusion
