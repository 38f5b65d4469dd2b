#include "diffusion/thresholding.h"

#include "diffusion/per_sample.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace t2i::diffusion {
namespace {

// The p-th percentile of each row with torch::quantile's linear interpolation between order
// statistics, read from the row's largest values by a partial top-k: p is close to 1, and a full
// sort per sampling step cost more than the rest of the step.
torch::Tensor row_percentile(const torch::Tensor& rows, double p) {
  const int64_t n = rows.size(1);
  const double position = p * static_cast<double>(n - 1);
  const auto below = static_cast<int64_t>(std::floor(position));
  const double fraction = position - static_cast<double>(below);
  const int64_t kept = n - below;  // the order statistics from `below` up, largest first
  const torch::Tensor largest = std::get<0>(rows.topk(kept, 1, /*largest=*/true, /*sorted=*/true));
  const torch::Tensor at_below = largest.select(1, kept - 1);
  if (fraction == 0.0 || kept < 2) return at_below;
  return at_below + fraction * (largest.select(1, kept - 2) - at_below);
}

} // namespace

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
  const torch::Tensor s = per_sample(row_percentile(magnitude, p).clamp_min(1.0), x_0);
  return torch::max(torch::min(x_0, s), -s) / s;
}

} // namespace t2i::diffusion
