#include "diffusion/thresholding.h"

#include "diffusion/per_sample.h"

#include <stdexcept>
#include <string>

namespace t2i::diffusion {

void check_thresholding(const Thresholding& thresholding) {
  const double p = thresholding.percentile;
  if (thresholding.kind == ThresholdKind::Dynamic && !(p > 0.0 && p <= 1.0))
    throw std::runtime_error("diffusion/thresholding: the dynamic-thresholding percentile must be in (0, 1], got " +
                             std::to_string(p));
}

torch::Tensor threshold(const torch::Tensor& x_0, const Thresholding& thresholding) {
  check_thresholding(thresholding);
  switch (thresholding.kind) {
    case ThresholdKind::None: return x_0;
    case ThresholdKind::Static: return x_0.clamp(-1.0, 1.0);
    case ThresholdKind::Dynamic: break;
  }
  const double p = thresholding.percentile;
  // s = max(percentile_p(|x̂₀|), 1) per sample; x̂₀ ← clip(x̂₀, −s, s)/s  (Saharia et al. 2022, §2.3)
  const torch::Tensor magnitude = x_0.detach().abs().flatten(1).to(torch::kFloat32);
  const torch::Tensor s = per_sample(torch::quantile(magnitude, p, 1).clamp_min(1.0), x_0);
  return torch::max(torch::min(x_0, s), -s) / s;
}

} // namespace t2i::diffusion
