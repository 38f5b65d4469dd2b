// What a super-resolution stage trains and validates on besides x₀ (Imagen §2.3–2.4): the
// stage's image box-downsampled to its input size (the same operator as data::image_pairs),
// enlarged by diffusion::upsample_low_res and noised to a level aug by augment_low_res. Training
// draws aug ~ U[0, aug_max] per image and the augmentation noise from the trainer's generator (so
// a resumed run draws what an uninterrupted one draws); evaluations fix aug at the preset's
// sample_aug and draw the noise from their own fixed-seed generator.
#pragma once

#include "diffusion/schedule.h"
#include "model/low_res.h"
#include "t2i/model.h"

#include <torch/torch.h>

#include <cstdint>
#include <optional>

namespace t2i::train {

/// The low-resolution input of x₀ [B, 3, S, S] in [−1, 1]: box_downsample to the stage's
/// low_res_size. Throws for a base preset.
torch::Tensor low_res_of(const model::Preset& preset, const torch::Tensor& x_0);

/// The condition of x₀ [B, 3, S, S] on x₀'s device: aug ~ U[0, aug_max] per image, or `fixed_aug`
/// for every image, then ε ~ N(0, I) shaped like x₀, both drawn from `generator` in that order.
/// Undefined (drawing nothing) for a base preset.
model::LowResCondition stage_condition(const model::Preset& preset, const diffusion::NoiseSchedule& schedule,
                                       const torch::Tensor& x_0, torch::Generator& generator,
                                       std::optional<double> fixed_aug = std::nullopt);

/// Images [first, last) of a condition (undefined stays undefined).
model::LowResCondition slice(const model::LowResCondition& condition, std::int64_t first, std::int64_t last);

} // namespace t2i::train
