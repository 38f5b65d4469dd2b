// Thresholding of the predicted x₀ at each sampling step: keeps large guidance scales from
// pushing pixels outside the data range (Saharia et al. 2022, §2.3; design.md §3).
#pragma once

#include "t2i/diffusion.h"

#include <torch/torch.h>

namespace t2i::diffusion {

struct Thresholding {
  ThresholdKind kind = ThresholdKind::Dynamic;
  double percentile = 0.995;  ///< p for dynamic thresholding, in (0, 1]
};

/// Throws std::runtime_error for a dynamic-thresholding percentile outside (0, 1].
void check_thresholding(const Thresholding& thresholding);

/// Applies the thresholding to x̂₀ [B, …], each sample on its own. Throws as check_thresholding.
torch::Tensor threshold(const torch::Tensor& x_0, const Thresholding& thresholding);

} // namespace t2i::diffusion
