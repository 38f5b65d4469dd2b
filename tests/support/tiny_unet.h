// The U-Net the model-level tests drive: every feature on, small enough to run in milliseconds.
#pragma once

#include "model/unet.h"

#include <torch/torch.h>

#include <cstdint>

namespace t2i::test {

// Three levels with self-attention at the lowest, cross-attention at the two lower ones and in
// the middle.
inline model::UNetConfig tiny_unet_config() {
  model::UNetConfig c;
  c.image_size = 16;
  c.dim = 16;
  c.dim_mults = {1, 2, 2};
  c.res_blocks = 1;
  c.self_attention = {false, false, true};
  c.cross_attention = {false, true, true};
  c.middle_attention = true;
  c.heads = 2;
  c.head_dim = 8;
  c.cond_dim = 24;
  c.text_embed_dim = 20;
  c.time_dim_mult = 2;
  return c;
}

// The zero-initialised output conv makes the untrained network output exactly 0 and blocks
// every gradient upstream; tests that compare outputs or need gradients give it weights.
inline model::UNet make_unet(const model::UNetConfig& config, std::uint64_t seed = 1) {
  torch::manual_seed(static_cast<std::int64_t>(seed));
  model::UNet unet(config);
  torch::NoGradGuard no_grad;
  for (auto& item : unet->named_parameters())
    if (item.key().rfind("out_conv.", 0) == 0) item.value().normal_(0.0, 0.1);
  return unet;
}

} // namespace t2i::test
