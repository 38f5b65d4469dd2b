// The T5 encoder (Raffel et al. 2020; v1.1 for Imagen, paper §5.2), natively in LibTorch from a
// Hugging Face folder; frozen. design.md §5 gives every step.
#pragma once

#include "io/tensor_file.h"
#include "t2i/text.h"
#include "text/text_encoder.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace t2i::text {

/// The fields of a Hugging Face T5 config.json the encoder needs.
struct T5Config {
  std::int64_t vocab_size = 32128;
  std::int64_t d_model = 512;
  std::int64_t d_kv = 64;
  std::int64_t num_heads = 8;
  std::int64_t num_layers = 6;
  std::int64_t d_ff = 2048;
  std::int64_t relative_attention_num_buckets = 32;
  std::int64_t relative_attention_max_distance = 128;
  double layer_norm_epsilon = 1e-6;
  bool gated_gelu = false;  ///< feed_forward_proj "gated-gelu" (v1.1) instead of "relu" (v1.0)

  /// Parses config.json's text; errors name `origin` and the field.
  static T5Config parse(const std::string& json, const std::string& origin);
  static T5Config from_file(const std::string& path);
  /// t5-v1_1-base's encoder: d_model 768, 12 heads of 64, 12 layers, d_ff 2048, gated-GELU.
  static T5Config v1_1_base();

  std::string summary() const;  ///< the fields in one line (part of the encoder's identity)
};

/// The hidden states of one forward pass.
struct T5Output {
  torch::Tensor last_hidden_state;           ///< [B, L, d_model] float32, after the final RMSNorm
  std::vector<torch::Tensor> hidden_states;  ///< if asked: the embeddings, then each layer's output
};

/// The encoder's arithmetic over its (frozen) weights.
class T5Model {
public:
  /// Takes the encoder's tensors from `weights` (Hugging Face names; `shared.weight` or
  /// `encoder.embed_tokens.weight`); a missing or mis-shaped tensor is an error naming `origin`
  /// and the tensor.
  T5Model(const T5Config& config, const io::TensorMap& weights, const std::string& origin, runtime::Precision precision);

  /// ids [B, L] int64, mask [B, L] (true at real tokens). No gradient is recorded.
  T5Output forward(const torch::Tensor& ids, const torch::Tensor& mask, bool keep_hidden_states = false) const;

  /// hidden + FF(RMSNorm(hidden)): layer `layer`'s feed-forward sub-layer with its residual.
  torch::Tensor feed_forward(std::int64_t layer, const torch::Tensor& hidden) const;

  /// The relative position bias [1, H, L, L] that layer 0 computes and every layer shares.
  torch::Tensor position_bias(std::int64_t length) const;

  const T5Config& config() const { return config_; }
  runtime::Precision precision() const { return precision_; }
  const std::string& weights_fingerprint() const { return fingerprint_; }
  std::int64_t parameter_count() const;

private:
  // q, k, v are stacked into one matrix, and a gated layer's wi_0 over wi_1, so that each
  // sub-layer converts its input to the compute precision once and runs one larger matmul.
  struct Layer {
    torch::Tensor attention_norm, qkv, o;
    torch::Tensor ff_norm, wi, wo;
  };
  torch::Tensor attention(const Layer& layer, const torch::Tensor& hidden, const torch::Tensor& bias) const;

  T5Config config_;
  runtime::Precision precision_;
  torch::Tensor embedding_;
  torch::Tensor relative_attention_bias_;  // [buckets, H]
  std::vector<Layer> layers_;
  torch::Tensor final_norm_;
  std::string fingerprint_;
};

/// The bucket of every (query, key) pair's relative position k − q: half the buckets per
/// direction, exact below half of those, logarithmic up to max_distance (T5, bidirectional).
torch::Tensor relative_position_buckets(std::int64_t length, std::int64_t num_buckets, std::int64_t max_distance);

/// Random weights in Hugging Face names with T5's initialisation scales (benchmarks, tests).
io::TensorMap random_t5_weights(const T5Config& config, std::uint64_t seed);

/// The frozen T5 encoder behind the TextEncoder interface.
class T5Encoder : public TextEncoder {
public:
  T5Encoder(Tokenizer tokenizer, T5Model model);

  /// Loads `folder`'s config.json and weights (model.safetensors, a sharded safetensors index,
  /// pytorch_model.bin or its sharded index) and the SentencePiece model (`spm`, or
  /// <folder>/spiece.model when empty).
  static std::unique_ptr<T5Encoder> from_folder(const std::string& folder, const std::string& spm, runtime::Precision precision);

  TextCondition encode(const std::vector<std::string>& texts, std::int64_t max_len,
                       Padding padding = Padding::Longest) override;
  TextCondition encode_ids(const torch::Tensor& ids, const torch::Tensor& mask) override;
  std::int64_t width() const override { return model_.config().d_model; }
  std::string identity() const override;
  bool trainable() const override { return false; }
  const Tokenizer& tokenizer() const override { return tokenizer_; }

  const T5Model& model() const { return model_; }

private:
  Tokenizer tokenizer_;
  T5Model model_;
};

} // namespace t2i::text
