// Cascades the tests sample: untrained, seeded models of a tiny base preset and a tiny
// super-resolution preset written as checkpoints, and a cascade file naming them. Sampling them
// takes well under a second; they test the plumbing, not the pictures.
#pragma once

#include "tiny_preset.h"

#include "model/checkpoint_file.h"
#include "sample/text_to_image_model.h"
#include "t2i/model.h"
#include "t2i/sample.h"

#include <nlohmann/json.hpp>

#include <torch/torch.h>

#include <fstream>
#include <string>
#include <vector>

namespace t2i::test {

/// sr-demo made tiny: `low_res` → `size`, a two-level Efficient U-Net and a one-layer learned
/// text encoder.
inline nlohmann::json tiny_sr_preset_json(int low_res, int size) {
  auto preset = nlohmann::json::parse(std::ifstream(model::find_preset("sr-demo").path));
  preset["name"] = "tiny-sr-test";
  preset["max_text_length"] = 16;
  auto& unet = preset["unet"];
  unet["image_size"] = size;
  unet["low_res_size"] = low_res;
  unet["dim"] = 8;
  unet["dim_mults"] = {1, 2};
  unet["res_blocks"] = 1;
  unet["level_res_blocks"] = {1, 1};
  unet["self_attention"] = {false, false};
  unet["cross_attention"] = {false, true};
  unet["heads"] = 2;
  unet["head_dim"] = 8;
  unet["cond_dim"] = 32;
  unet["text_embed_dim"] = 32;
  unet["time_dim_mult"] = 2;
  preset["text_encoder"]["learned"] = {{"layers", 1}, {"width", 32}, {"heads", 2}, {"vocab_size", 120}};
  return preset;
}

/// Writes an untrained model of `preset_json` to `path` as a checkpoint. The U-Net's
/// zero-initialised output layer gets seeded weights (online and EMA alike), so that the network
/// predicts something other than 0 and its images depend on the text and the low-res input.
inline std::string write_untrained_checkpoint(const nlohmann::json& preset_json, const std::string& path,
                                              std::uint64_t seed) {
  const model::Preset preset = model::parse_preset(preset_json.dump(), path);
  torch::manual_seed(static_cast<std::int64_t>(seed));
  const std::vector<std::string> captions{"a red circle", "a blue square above a green triangle", "a small yellow circle",
                                          "a large purple square left of a red triangle"};
  auto model = sample::TextToImageModel::create(preset, model::preset_to_json(preset), {}, captions, torch::kCPU);
  {
    torch::NoGradGuard no_grad;
    const auto online = model->trained_parameters();
    const auto ema = model->ema_parameters();
    for (std::size_t i = 0; i < online.size(); ++i) {
      if (online[i].first.rfind("unet.out_conv.", 0) != 0) continue;
      online[i].second.normal_(0.0, 0.1);
      ema[i].copy_(online[i].second);
    }
  }
  model::Checkpoint checkpoint;
  model->save_to(checkpoint);
  checkpoint.meta["step"] = 0;
  model::write_checkpoint(path, checkpoint);
  return path;
}

/// A base stage of `base_size` (tiny-test) and a super-resolution stage `base_size` → `sr_size`
/// written into `folder`, and cascade.json naming them (with `sr_stage`'s settings).
inline std::string write_tiny_cascade(const std::string& folder, int sr_size,
                                      const sample::CascadeStage& sr_stage = {}) {
  const std::string base = write_untrained_checkpoint(tiny_preset_json(), folder + "/base.safetensors", 1);
  const int base_size = tiny_preset_json()["unet"]["image_size"].get<int>();
  const std::string sr = write_untrained_checkpoint(tiny_sr_preset_json(base_size, sr_size), folder + "/sr.safetensors", 2);
  sample::Cascade cascade;
  cascade.stages.push_back({base, {}, {}, {}, {}});
  sample::CascadeStage stage = sr_stage;
  stage.checkpoint = sr;
  cascade.stages.push_back(stage);
  const std::string path = folder + "/cascade.json";
  sample::write_cascade(cascade, path);
  return path;
}

} // namespace t2i::test
