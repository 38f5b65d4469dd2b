// Noise conditioning augmentation of a super-resolution stage (Imagen §2.3, Ho et al. 2021 "Cascaded
// Diffusion Models" §4.1): the low-resolution conditioning image is noised to a level `aug` before
// the network sees it, and `aug` is one of the network's inputs. Training draws aug per image, so
// the stage learns to repair whatever a base model's output gets wrong; sampling fixes one aug.
//
// aug is a diffusion time in [0, 1] of the stage's own NoiseSchedule (schedule.h), the same value
// the network receives for t: aug = 0 is the clean image, and any other aug noises it exactly as
// the forward process would at that time (on a discrete schedule, at the nearest step).
#pragma once

#include "diffusion/schedule.h"
#include "diffusion/seeded_noise.h"

#include <torch/torch.h>

#include <cstdint>

namespace t2i::diffusion {

/// The low-resolution batch [B, C, h, w] in [−1, 1] enlarged to size × size: bicubic, no antialias,
/// align_corners = false (Imagen resizes its conditioning image bicubically), then clamped to
/// [−1, 1] again, since bicubic overshoots at edges. The one resize of the cascade's conditioning.
torch::Tensor upsample_low_res(const torch::Tensor& low_res, std::int64_t size);

/// Training: one aug per image, aug ~ U[0, aug_max], float32 [B] on the generator's device.
/// Throws std::invalid_argument unless 0 ≤ aug_max ≤ 1.
torch::Tensor sample_aug_levels(std::int64_t batch, double aug_max, torch::Generator& generator);

/// Sampling: the fixed aug for every image, float32 [B]. Throws unless 0 ≤ aug ≤ 1.
torch::Tensor fixed_aug_levels(std::int64_t batch, double aug, const torch::Device& device);

/// z = α_aug x + σ_aug ε  (Imagen §2.3: the forward process q(z_aug | x) applied to the conditioning)
/// with one aug per image [B]; an image at aug = 0 is returned unchanged, bit for bit. `noise` ε
/// has x's shape.
torch::Tensor augment_low_res(const NoiseSchedule& schedule, const torch::Tensor& upsampled, const torch::Tensor& aug,
                              const torch::Tensor& noise);

/// The same with ε drawn from `noise` (one draw of each image's stream), so the conditioning is a
/// function of the seeds. A sampler keeps its own SeededNoise for x_T and its steps (the frozen-
/// trajectory contract); the augmentation's stream is another one.
torch::Tensor augment_low_res(const NoiseSchedule& schedule, const torch::Tensor& upsampled, const torch::Tensor& aug,
                              SeededNoise& noise);

} // namespace t2i::diffusion
