// Sampling: from pure noise to images through a sequence of noise levels, behind one interface
// for every sampler (DDPM ancestral, DDIM, DPM-Solver++(2M)).
//
// The number of sampling steps N is independent of the schedule's T: the network is evaluated at
// NoiseSchedule::sampling_times(N), and after the last of them the sampler lands on the clean
// data (α = 1, σ = 0), where every sampler returns the final x̂₀. At each evaluation the network's
// output is read as (x̂₀, ε̂) in its parameterisation, x̂₀ is thresholded and ε̂ recomputed to match,
// then the observer sees the step and the sampler moves to the next level.
#pragma once

#include "t2i/job.h"

#include "common/denoiser.h"
#include "diffusion/parameterization.h"
#include "diffusion/schedule.h"
#include "diffusion/seeded_noise.h"
#include "diffusion/thresholding.h"

#include <torch/torch.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <vector>

namespace t2i::diffusion {

struct SamplerOptions {
  SamplerKind kind = kDefaultSampler;
  int64_t steps = 50;         ///< network evaluations N (≤ T for a discrete schedule)
  double eta = 0.0;           ///< DDIM only, in [0, 1]: 0 deterministic, 1 the DDPM posterior variance
  Prediction prediction = Prediction::Epsilon;
  Thresholding thresholding;  ///< applied to x̂₀ at every step
};

/// What the observer sees at each step, before the sampler moves on. The tensors are the
/// sampler's own (do not modify them).
struct StepReport {
  int64_t index = 0;           ///< 0-based step number
  int64_t total = 0;           ///< N
  double t = 0;                ///< the diffusion time the network was evaluated at
  const torch::Tensor& x_t;    ///< [B, C, H, W] the current noisy images
  const torch::Tensor& x_0;    ///< [B, C, H, W] the network's estimate of the clean images (thresholded)
};
using StepObserver = std::function<void(const StepReport&)>;

/// Thrown by Sampler::sample when the cancel flag is seen set before a step; no partial result.
struct SamplingCancelled : std::runtime_error {
  SamplingCancelled() : std::runtime_error("sampling cancelled") {}
};

struct SampleRequest {
  std::vector<std::uint64_t> seeds;  ///< one per image: its initial noise and every step's noise
  std::vector<int64_t> image_shape;  ///< [C, H, W]
  TextCondition text;                ///< batch = seeds.size()
  torch::Device device = torch::kCPU;
  StepObserver observer;             ///< optional
  const job::CancelToken* cancel = nullptr;  ///< optional; checked before every network evaluation
  /// Optional: sees every noise draw with its step (−1 for x_T, k for the draw of step k's move).
  std::function<void(int64_t step, const torch::Tensor& draw)> noise_observer;
};

/// One move from level `from` to the earlier level `to`, given the network's estimate at `from`.
struct SamplerStep {
  int64_t index = 0;
  NoiseLevel from;
  NoiseLevel to;                              ///< NoiseLevel::clean() after the last evaluation
  torch::Tensor x_t;
  Estimate estimate;                          ///< thresholded x̂₀ and the ε̂ that goes with it
  std::optional<NoiseLevel> previous_level;   ///< the level of the previous evaluation (multistep)
  torch::Tensor previous_x_0;                 ///< its x̂₀; undefined at the first step
};

class Sampler {
public:
  virtual ~Sampler() = default;

  const SamplerOptions& options() const { return options_; }
  const NoiseSchedule& schedule() const { return schedule_; }

  /// Images [B, C, H, W] (float32 on request.device) from the model, which predicts in
  /// options().prediction (wrap it with classifier_free_guidance for guided sampling). Runs without
  /// autograd. Throws SamplingCancelled when cancelled, std::runtime_error on a malformed request.
  torch::Tensor sample(const Denoiser& model, const SampleRequest& request) const;

protected:
  Sampler(NoiseSchedule schedule, SamplerOptions options);
  /// x at level step.to.
  virtual torch::Tensor step(const SamplerStep& step, SeededNoise& noise) const = 0;

private:
  NoiseSchedule schedule_;
  SamplerOptions options_;
};

/// The sampler named by options.kind (sampler_registry.cpp). Throws for invalid options (steps, η, percentile).
std::unique_ptr<Sampler> make_sampler(const NoiseSchedule& schedule, const SamplerOptions& options);

} // namespace t2i::diffusion
