// A super-resolution stage's second input (Saharia 2022 §2.3–2.4): the low-resolution image,
// upsampled to the stage's size and noise-augmented, and the augmentation's level.
#pragma once

#include <torch/torch.h>

namespace t2i::model {

/// What a super-resolution U-Net reads besides x_t, t and the text.
struct LowResCondition {
  /// [B, C, image_size, image_size]: the low-resolution image enlarged by
  /// diffusion::upsample_low_res, then noised to level `aug` by the forward process (noise
  /// conditioning augmentation, §2.3).
  torch::Tensor image;
  torch::Tensor aug;  ///< [B] in [0, 1]: the augmentation's diffusion time (0: the clean image)

  bool defined() const { return image.defined(); }
};

} // namespace t2i::model
