// From a preset (plain data, the UI's view) to the U-Net configuration the trainer builds.
#pragma once

#include "model/unet_config.h"
#include "t2i/model.h"

namespace t2i::model {

/// The preset's U-Net, reading text of the width it was sized for (768 for T5-base).
UNetConfig unet_config(const Preset& preset);

/// The preset's U-Net reading text embeddings of `text_embed_dim` (the encoder actually used).
UNetConfig unet_config(const Preset& preset, int64_t text_embed_dim);

} // namespace t2i::model
