#include "diffusion/schedule.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace t2i::diffusion {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kCosineOffset = 0.008;  // s in Nichol & Dhariwal 2021, eq. 17
constexpr double kMaxBeta = 0.999;       // Nichol & Dhariwal 2021, §3.2: avoids a singularity at t = T
constexpr int64_t kMaxSteps = 100000;

// The cosine form reaches α = 0 at t = 1, where turning a predicted ε into x₀ divides by α. The
// floor keeps α ≥ 4.5e-5 there, the level where the discrete cosine schedule's β ≤ 0.999 clip
// ends as well (log-SNR ≈ −19.8 at T = 1000).
constexpr double kMinContinuousLogSnr = -20.0;

torch::TensorOptions float64() { return torch::TensorOptions().dtype(torch::kFloat64); }

// f(τ) = cos²(((τ + s)/(1 + s))·π/2), τ = t/T ∈ [0, 1]  (Nichol & Dhariwal 2021, eq. 17)
torch::Tensor cosine_f(const torch::Tensor& tau) {
  return torch::cos((tau + kCosineOffset) / (1.0 + kCosineOffset) * (kPi / 2)).pow(2);
}

torch::Tensor discrete_betas(const ScheduleSpec& spec) {
  const int64_t T = spec.steps;
  if (spec.kind == ScheduleKind::Linear) {
    // Ho et al. 2020, §4: β from 1e-4 to 0.02 over T = 1000, scaled by 1000/T for other T
    // (Nichol & Dhariwal 2021, improved-diffusion's get_named_beta_schedule).
    const double scale = 1000.0 / static_cast<double>(T);
    if (0.02 * scale >= 1.0)
      throw std::runtime_error("diffusion/schedule: a linear schedule needs more than 20 steps, got " +
                               std::to_string(T));
    return torch::linspace(scale * 1e-4, scale * 0.02, T, float64());
  }
  // β_t = min(1 − ᾱ(t)/ᾱ(t−1), 0.999) with ᾱ(t) = f(t)/f(0)  (Nichol & Dhariwal 2021, §3.2)
  const torch::Tensor i = torch::arange(T, float64());
  const torch::Tensor beta = 1.0 - cosine_f((i + 1.0) / static_cast<double>(T)) / cosine_f(i / static_cast<double>(T));
  return beta.clamp_max(kMaxBeta);
}

} // namespace

NoiseSchedule::NoiseSchedule(const ScheduleSpec& spec) : spec_(spec) {
  if (spec.steps < 0 || spec.steps > kMaxSteps)
    throw std::runtime_error("diffusion/schedule: the number of diffusion steps must be in [0, " +
                             std::to_string(kMaxSteps) + "] (0 = continuous time), got " + std::to_string(spec.steps));
  if (is_discrete()) {
    betas_ = discrete_betas(spec);
    // ᾱ_t = Π_{s≤t} (1 − β_s)  (Ho et al. 2020, §2), accumulated in log space so that 1 − ᾱ_t
    // keeps its digits near t = 0.
    const torch::Tensor log_alphas_cumprod = torch::cumsum(torch::log1p(-betas_), 0);
    alphas_cumprod_ = torch::exp(log_alphas_cumprod);
    one_minus_alphas_cumprod_ = -torch::expm1(log_alphas_cumprod);
  }
  sampling_start_ = find_sampling_start();
}

double NoiseSchedule::time_of_step(int64_t i) const {
  if (!is_discrete() || i < 0 || i >= steps())
    throw std::runtime_error("diffusion/schedule: step " + std::to_string(i) + " is not a step of this schedule");
  return static_cast<double>(i + 1) / static_cast<double>(steps());
}

int64_t NoiseSchedule::step_of_time(double t) const {
  return steps_of_times(torch::full({}, t, float64())).item<int64_t>();
}

torch::Tensor NoiseSchedule::steps_of_times(const torch::Tensor& t) const {
  if (!is_discrete()) throw std::runtime_error("diffusion/schedule: a continuous schedule has no steps");
  const auto T = static_cast<double>(steps());
  return (t.to(torch::kFloat64).clamp(0.0, 1.0) * T + 0.5).floor().to(torch::kInt64) - 1;
}

torch::Tensor NoiseSchedule::continuous_log_snr(const torch::Tensor& t) const {
  const torch::Tensor time = t.to(torch::kFloat64).clamp(0.0, 1.0);
  torch::Tensor lambda;
  if (spec_.kind == ScheduleKind::Cosine) {
    // λ(t) = −log(cos((t + s)/(1 + s)·π/2)^−2 − 1) (design.md §3), written as −2 log tan(·)
    // since cos^−2 − 1 = tan².
    lambda = -2.0 * torch::log(torch::tan((time + kCosineOffset) / (1.0 + kCosineOffset) * (kPi / 2)));
  } else {
    // λ(t) = −log(expm1(1e-4 + 10 t²))  (design.md §3; Kingma et al. 2021)
    lambda = -torch::log(torch::expm1(1e-4 + 10.0 * time.pow(2)));
  }
  return lambda.clamp_min(kMinContinuousLogSnr);
}

std::pair<torch::Tensor, torch::Tensor> NoiseSchedule::variances(const torch::Tensor& t) const {
  if (!is_discrete()) {
    // α² = sigmoid(λ), σ² = sigmoid(−λ)  (design.md §3)
    const torch::Tensor lambda = continuous_log_snr(t);
    return {torch::sigmoid(lambda), torch::sigmoid(-lambda)};
  }
  const torch::Tensor i = steps_of_times(t);
  const torch::Tensor clean = i < 0;
  const torch::Tensor index = i.clamp_min(0).flatten();
  const torch::Tensor alpha_sq =
      alphas_cumprod_.to(t.device()).index_select(0, index).view(i.sizes()).masked_fill(clean, 1.0);
  const torch::Tensor sigma_sq =
      one_minus_alphas_cumprod_.to(t.device()).index_select(0, index).view(i.sizes()).masked_fill(clean, 0.0);
  return {alpha_sq, sigma_sq};
}

torch::Tensor NoiseSchedule::alpha_bar(const torch::Tensor& t) const { return variances(t).first; }
torch::Tensor NoiseSchedule::alpha(const torch::Tensor& t) const { return variances(t).first.sqrt(); }
torch::Tensor NoiseSchedule::sigma(const torch::Tensor& t) const { return variances(t).second.sqrt(); }

torch::Tensor NoiseSchedule::snr(const torch::Tensor& t) const {
  const auto [alpha_sq, sigma_sq] = variances(t);
  return alpha_sq / sigma_sq;
}

torch::Tensor NoiseSchedule::log_snr(const torch::Tensor& t) const {
  if (!is_discrete()) return continuous_log_snr(t);
  const auto [alpha_sq, sigma_sq] = variances(t);
  return torch::log(alpha_sq) - torch::log(sigma_sq);
}

NoiseLevel NoiseSchedule::level(double t) const {
  if (!(t >= 0.0 && t <= 1.0))
    throw std::runtime_error("diffusion/schedule: diffusion time must be in [0, 1], got " + std::to_string(t));
  const auto [alpha_sq, sigma_sq] = variances(torch::full({}, t, float64()));
  // A discrete schedule's network only knows its step times, so the level carries the step's time.
  const int64_t step = is_discrete() ? step_of_time(t) : 0;
  const double time = !is_discrete() ? t : step < 0 ? 0.0 : time_of_step(step);
  return {time, std::sqrt(alpha_sq.item<double>()), std::sqrt(sigma_sq.item<double>())};
}

const torch::Tensor& NoiseSchedule::betas() const {
  if (!is_discrete()) throw std::runtime_error("diffusion/schedule: a continuous schedule has no β_t table");
  return betas_;
}

const torch::Tensor& NoiseSchedule::alphas_cumprod() const {
  if (!is_discrete()) throw std::runtime_error("diffusion/schedule: a continuous schedule has no ᾱ_t table");
  return alphas_cumprod_;
}

double NoiseSchedule::find_sampling_start() const {
  const auto lambda = [this](double t) { return log_snr(torch::full({}, t, float64())).item<double>(); };
  if (is_discrete()) {
    int64_t step = steps() - 1;
    while (step > 0 && lambda(time_of_step(step)) < kMinSamplingLogSnr) --step;
    return time_of_step(step);
  }
  return continuous_time_of_log_snr(kMinSamplingLogSnr);
}

double NoiseSchedule::continuous_time_of_log_snr(double target) const {
  const auto lambda = [this](double t) { return log_snr(torch::full({}, t, float64())).item<double>(); };
  if (lambda(1.0) >= target) return 1.0;
  // λ(t) falls monotonically in t: bisect for λ(t) = target, down to float64's resolution.
  double low = 0.0, high = 1.0;
  for (int i = 0; i < 60; ++i) {
    const double middle = (low + high) / 2;
    (lambda(middle) >= target ? low : high) = middle;
  }
  return low;
}

int64_t NoiseSchedule::max_sampling_steps() const { return is_discrete() ? step_of_time(sampling_start_) + 1 : 0; }

std::vector<double> NoiseSchedule::sampling_times(int64_t steps) const {
  const int64_t available = max_sampling_steps();
  if (steps < 1 || (is_discrete() && steps > available))
    throw std::runtime_error("diffusion/schedule: sampling needs between 1 and " +
                             (is_discrete() ? std::to_string(available) : std::string("any number of")) +
                             " steps, got " + std::to_string(steps));
  std::vector<double> times;
  times.reserve(static_cast<std::size_t>(steps));
  for (int64_t k = steps; k >= 1; --k) {
    if (is_discrete()) {
      const auto step = static_cast<int64_t>(std::llround(static_cast<double>(k * available) / static_cast<double>(steps))) - 1;
      times.push_back(time_of_step(step));
    } else {
      times.push_back(sampling_start_ * static_cast<double>(k) / static_cast<double>(steps));
    }
  }
  return times;
}

torch::Tensor NoiseSchedule::sample_times(int64_t batch, torch::Generator& generator) const {
  const auto options = torch::TensorOptions().device(generator.device());
  if (!is_discrete()) return torch::rand({batch}, generator, options.dtype(torch::kFloat32));
  const torch::Tensor i = torch::randint(0, steps(), {batch}, generator, options.dtype(torch::kInt64));
  return (i + 1).to(torch::kFloat32) / static_cast<double>(steps());
}

} // namespace t2i::diffusion
