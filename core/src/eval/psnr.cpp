#include "eval/psnr.h"

#include <stdexcept>

namespace t2i::eval {

torch::Tensor psnr(const torch::Tensor& estimate, const torch::Tensor& reference) {
  if (estimate.sizes() != reference.sizes() || estimate.dim() != 4)
    throw std::invalid_argument("PSNR: expected two image batches [B, C, H, W] of one shape, got " + c10::str(estimate.sizes()) +
                                " and " + c10::str(reference.sizes()));
  constexpr double kPeak = 2.0;  // MAX: images span [−1, 1]
  const torch::Tensor difference = estimate.to(torch::kFloat64) - reference.to(torch::kFloat64);
  const torch::Tensor mse = difference.square().flatten(1).mean(1);
  return 10.0 * torch::log10(kPeak * kPeak / mse);
}

} // namespace t2i::eval
