// The preset the tests train with: the demo preset made small enough to train a few steps in a
// test (32×32, a two-level U-Net, a one-layer learned text encoder).
#pragma once

#include "t2i/model.h"
#include "t2i/runtime.h"
#include "t2i/train.h"

#include <QTemporaryDir>

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

namespace t2i::test {

inline nlohmann::json tiny_preset_json() {
  auto preset = nlohmann::json::parse(std::ifstream(model::find_preset("demo").path));
  preset["name"] = "tiny-test";
  preset["batch_size"] = 4;
  preset["max_batch_size"] = 2;
  preset["diffusion_steps"] = 100;
  preset["eval_every"] = 5;
  preset["eval_val_steps"] = 1;
  preset["early_stop"] = nullptr;
  auto& unet = preset["unet"];
  unet["dim"] = 16;
  unet["dim_mults"] = {1, 2};
  unet["res_blocks"] = 1;
  unet["self_attention"] = {false, true};
  unet["cross_attention"] = {false, true};
  unet["heads"] = 2;
  unet["head_dim"] = 8;
  unet["cond_dim"] = 32;
  unet["dropout"] = 0.0;
  unet["text_embed_dim"] = 32;
  preset["text_encoder"]["kind"] = "learned";
  preset["text_encoder"]["learned"] = {{"layers", 1}, {"width", 32}, {"heads", 2}, {"vocab_size", 120}};
  return preset;
}

/// tiny_preset_json() as a 16→32 super-resolution stage (its U-Net also reads the enlarged,
/// noise-augmented 16×16 image), for the tests of training a cascade's stage.
inline nlohmann::json tiny_sr_preset_json() {
  nlohmann::json preset = tiny_preset_json();
  preset["name"] = "tiny-sr-test";
  preset["sample_aug"] = 0.2;
  preset["unet"]["image_size"] = 32;
  preset["unet"]["low_res_size"] = 16;
  preset["unet"]["skip_scale"] = true;
  preset["training"]["aug_max"] = 0.5;
  return preset;
}

/// A few-step run of `preset_path` on the demo dataset (48 images), seeded, on the fp32 reference
/// path so that runs compare bit for bit, without the probe gallery: sampling its probes at every
/// evaluation is most of a tiny run's time, and only the gallery's own tests
/// (test_probe_gallery, test_probe_gallery_view) turn it on.
inline train::TrainOptions tiny_demo_run(const std::string& preset_path, const std::string& run_dir,
                                         const std::string& cache_dir) {
  train::TrainOptions options;
  options.preset = preset_path;
  options.data.demo = true;
  options.data.demo_images = 48;
  options.data.cache_dir = cache_dir;
  options.run_dir = run_dir;
  options.precision = runtime::Precision::Float32;
  options.seed = 7;
  options.probe_gallery = false;
  return options;
}

/// Writes `preset` into `dir` as tiny-test.json and returns its path.
inline std::string write_preset(const QTemporaryDir& dir, const nlohmann::json& preset) {
  const std::string path = dir.filePath(QStringLiteral("tiny-test.json")).toStdString();
  std::ofstream(path) << preset.dump(2);
  return path;
}

} // namespace t2i::test
