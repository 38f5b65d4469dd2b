// Per-sample coefficients (one value per batch element) applied to whole samples.
#pragma once

#include <torch/torch.h>

namespace t2i::diffusion {

/// Shapes a [B] coefficient as [B, 1, …, 1] to broadcast over `like` [B, …], in like's dtype and
/// device (so float64 schedule values never promote float32 images).
inline torch::Tensor per_sample(const torch::Tensor& coefficient, const torch::Tensor& like) {
  std::vector<int64_t> shape(static_cast<std::size_t>(like.dim()), 1);
  shape[0] = like.size(0);
  return coefficient.to(like.device(), like.scalar_type()).reshape(shape);
}

} // namespace t2i::diffusion
