// Records guidance's halves at every sampling step (diffusion::GuidanceObserver) into what the
// facade's GuidanceAnatomy (t2i/guidance_anatomy.h) reads.
#pragma once

#include "diffusion/guidance.h"
#include "diffusion/schedule.h"
#include "diffusion/thresholding.h"
#include "t2i/guidance_anatomy.h"

#include <torch/torch.h>

#include <vector>

namespace t2i::sample {

struct GuidanceAnatomy::Data {
  double guidance = 1;
  struct Step {
    double t = 0;
    /// [B, C, H, W] float32 on the CPU: noise predictions of each half and guided, and the x̂₀ of
    /// each (thresholded as the sampler thresholds).
    torch::Tensor epsilon_conditional, epsilon_unconditional, epsilon_guided;
    torch::Tensor x0_conditional, x0_unconditional, x0_guided;
    torch::Tensor clipped;  ///< [B] share of the guided x̂₀'s values at the bound
  };
  std::vector<Step> steps;
  torch::Tensor delta_max;  ///< [B] the largest |Δ| of each image over the steps so far
};

class GuidanceAnatomyRecorder {
public:
  GuidanceAnatomyRecorder(diffusion::NoiseSchedule schedule, diffusion::Prediction prediction,
                          diffusion::Thresholding thresholding, double guidance);
  /// One guided prediction: one sampling step.
  void observe(const diffusion::GuidanceReport& report);
  GuidanceAnatomy anatomy() const;
  const GuidanceAnatomy::Data& data() const { return data_; }

private:
  diffusion::NoiseSchedule schedule_;
  diffusion::Prediction prediction_;
  diffusion::Thresholding thresholding_;
  GuidanceAnatomy::Data data_;
};

} // namespace t2i::sample
