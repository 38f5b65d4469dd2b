// Peak signal-to-noise ratio, the super-resolution stage's measure against bicubic enlargement
// (issue 27): how close an image is to its ground truth, pixel for pixel.
#pragma once

#include <torch/torch.h>

namespace t2i::eval {

/// PSNR = 10·log10(MAX² / MSE) per image (the standard definition, e.g. Wang et al. 2004 §I) for
/// images [B, C, H, W] in [−1, 1], MAX = 2 the range's width (the same number as on [0, 255] with
/// MAX = 255). [B] float64; +inf where an image equals its reference. Throws unless the shapes match.
torch::Tensor psnr(const torch::Tensor& estimate, const torch::Tensor& reference);

} // namespace t2i::eval
