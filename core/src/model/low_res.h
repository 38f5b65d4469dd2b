// A super-resolution stage's second input (Saharia 2022 §2.3–2.4): the low-resolution image,
// upsampled to the stage's size and noise-augmented, and the augmentation's level.
#pragma once

#include <torch/torch.h>

namespace t2i::model {

/// What a super-resolution U-Net reads besides x_t, t and the text.
struct LowResCondition {
  /// [B, C, image_size, image_size]: the low-resolution image enlarged by upsample_low_res, then
  /// noised to level `aug` by the forward process (noise conditioning augmentation, §2.3).
  torch::Tensor image;
  torch::Tensor aug;  ///< [B] in [0, 1]: the augmentation's diffusion time (0: the clean image)

  bool defined() const { return image.defined(); }
};

/// The one place a low-resolution image [B, C, h, w] becomes the stage's size [B, C, size, size]:
/// bicubic interpolation (align_corners = false, as image resizers sample pixel centres), clamped
/// to the data range [−1, 1] that bicubic's overshoot leaves. Training and cascade sampling
/// both use it, so a stage sees at sampling the enlargement it learned from.
torch::Tensor upsample_low_res(const torch::Tensor& low_res, int64_t size);

} // namespace t2i::model
