// The text-to-image model as training and sampling hold it: the U-Net and the text encoder, each
// with its EMA copy when trained, built from a preset, stored in and restored from a checkpoint.
// The trainer and the sampler both use this one definition, so what one writes the other reads.
#pragma once

#include "common/denoiser.h"
#include "model/checkpoint_file.h"
#include "model/low_res.h"
#include "model/unet.h"
#include "t2i/model.h"
#include "text/embedding_cache.h"
#include "text/learned_encoder.h"
#include "text/t5_encoder.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace t2i::sample {

/// Which text encoder a model reads.
struct TextEncoderChoice {
  std::string t5_dir;  ///< a Hugging Face T5 folder (frozen); empty = the learned encoder
};

class TextToImageModel {
public:
  /// A fresh model for `preset`: the learned text encoder's tokenizer is trained on
  /// `train_captions`; with a T5 folder the encoder is loaded from it instead.
  static std::unique_ptr<TextToImageModel> create(const model::Preset& preset, const std::string& preset_json,
                                                  const TextEncoderChoice& text, const std::vector<std::string>& train_captions,
                                                  const torch::Device& device);

  /// The model a checkpoint holds (its preset, text encoder and both weight sets).
  static std::unique_ptr<TextToImageModel> from_checkpoint(const model::Checkpoint& checkpoint, const std::string& origin,
                                                           const torch::Device& device);

  /// The model a checkpoint holds, set up to sample on `device` (the device's default execution:
  /// bf16 where it is native; the EMA U-Net frozen for sampling, its weights in that precision). Every entry point
  /// that samples a checkpoint — the Generator, the guidance analysis, the overfit benchmark —
  /// loads it here, so they sample alike.
  static std::unique_ptr<TextToImageModel> for_sampling(const model::Checkpoint& checkpoint, const std::string& origin,
                                                        const torch::Device& device);

  const model::Preset& preset() const { return preset_; }
  const std::string& preset_json() const { return preset_json_; }
  const torch::Device& device() const { return device_; }
  int image_size() const { return preset_.unet.image_size; }
  std::int64_t max_text_length() const { return preset_.max_text_length; }
  bool learned_text() const { return learned_ != nullptr; }
  std::string text_encoder_name() const;
  std::int64_t parameter_count() const;

  /// The networks being trained (U-Net first, then the learned encoder's), with stable names.
  std::vector<std::pair<std::string, torch::Tensor>> trained_parameters() const;
  /// The EMA copies of trained_parameters(), in the same order.
  std::vector<torch::Tensor> ema_parameters() const;

  /// The frozen T5 encoder, or nullptr for a learned one (whose outputs must never be cached).
  text::TextEncoder* frozen_encoder() const { return t5_.get(); }
  /// Uses T5 embeddings from a cache built for this model's encoder (training on a dataset).
  void use_embedding_cache(text::EmbeddingCache cache);
  /// Encodes captions for the online (trained) or the EMA networks. With the learned encoder the
  /// online encoding carries gradients when grad mode is on.
  TextCondition encode(const std::vector<std::string>& captions, bool ema);
  /// The U-Net as a Denoiser: online or EMA weights. A super-resolution stage needs the
  /// low-resolution condition of the images it denoises; a base model takes none.
  Denoiser denoiser(bool ema, const model::LowResCondition& low_res = {}) const;
  /// The EMA U-Net as a Denoiser for one sampling run, which computes the text's share of the
  /// network once (model::as_sampling_denoiser): the weights must not change while it is in use.
  /// An observer, when given, sees its cross-attention at every step. `low_res` as for denoiser().
  Denoiser sampling_denoiser(model::AttentionObserver* attention_observer = nullptr,
                             const model::LowResCondition& low_res = {}) const;
  /// The tokenizer whose pieces the model reads (the text positions cross-attention attends to).
  const text::Tokenizer& tokenizer() const;
  void set_train_mode(bool on);
  void set_execution(const model::ExecutionOptions& execution);
  const model::ExecutionOptions& execution() const { return unet_->execution(); }

  /// Adds the model (preset, text encoder, both weight sets) to a checkpoint.
  void save_to(model::Checkpoint& checkpoint) const;
  /// A checkpoint for sampling only: the model description and the EMA weights (optionally as
  /// float16), without the online weights, optimiser or training state. from_checkpoint reads it.
  static model::Checkpoint sampling_checkpoint(const model::Checkpoint& full, bool fp16);

  /// Loads both weight sets from a checkpoint written by save_to for the same architecture.
  void load_weights(const model::Checkpoint& checkpoint, const std::string& origin);

private:
  TextToImageModel(model::Preset preset, std::string preset_json, const torch::Device& device);
  void build_unet(std::int64_t text_width);
  /// Throws unless a super-resolution stage gets a low-resolution condition and a base model none.
  void check_low_res(const model::LowResCondition& low_res) const;

  model::Preset preset_;
  std::string preset_json_;
  torch::Device device_;
  model::UNet unet_{nullptr};
  model::UNet ema_unet_{nullptr};
  std::unique_ptr<text::LearnedTextEncoder> learned_;
  std::unique_ptr<text::LearnedTextEncoder> ema_learned_;
  std::unique_ptr<text::T5Encoder> t5_;
  std::string t5_dir_;
  std::optional<text::EmbeddingCache> t5_cache_;
};

} // namespace t2i::sample
