// The offline default text encoder (design.md §5, GLIDE-style): a SentencePiece BPE model
// trained on the dataset's captions and a small transformer encoder trained jointly with the
// U-Net. Same output contract as T5, so the U-Net does not care which one it gets.
#pragma once

#include "io/tensor_file.h"
#include "text/text_encoder.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace t2i::text {

struct TokenizerTrainingOptions {
  std::int64_t vocab_size = 8000;  ///< an upper bound: small caption sets get fewer pieces
  int threads = 0;                 ///< 0 = the cores available
};

/// Trains a SentencePiece BPE model on `captions` with T5's ids (pad 0, </s> 1, <unk> 2,
/// no <s>) and returns the serialized model (Tokenizer::from_bytes reads it).
std::string train_caption_tokenizer(const std::vector<std::string>& captions, const TokenizerTrainingOptions& options);

struct LearnedEncoderConfig {
  std::int64_t vocab_size = 0;   ///< rows of the token embedding: the tokenizer's pieces
  std::int64_t max_len = 64;     ///< learned positions, </s> included
  std::int64_t width = 256;
  std::int64_t layers = 4;
  std::int64_t heads = 4;
  std::int64_t mlp_ratio = 4;    ///< hidden width of the feed-forward, in multiples of width

  std::string to_json() const;
  static LearnedEncoderConfig parse(const std::string& json, const std::string& origin);
};

/// Pre-LayerNorm transformer encoder over token + learned position embeddings; padding keys
/// are masked, so real tokens' outputs do not depend on how much padding follows them.
class LearnedTextTransformerImpl : public torch::nn::Module {
public:
  explicit LearnedTextTransformerImpl(const LearnedEncoderConfig& config);

  /// ids [B, L] (L <= max_len), mask [B, L] → the TextCondition contract (make_condition).
  TextCondition forward(const torch::Tensor& ids, const torch::Tensor& mask);

  const LearnedEncoderConfig& config() const { return config_; }

private:
  LearnedEncoderConfig config_;
  torch::nn::Embedding token_embedding_{nullptr};
  torch::Tensor position_embedding_;
  torch::nn::ModuleList blocks_;
  torch::nn::LayerNorm final_norm_{nullptr};
};
TORCH_MODULE(LearnedTextTransformer);

/// The learned encoder behind the TextEncoder interface. Its gradients flow whenever the
/// caller's grad mode is on; the trainer owns the optimiser over module()->parameters().
class LearnedTextEncoder : public TextEncoder {
public:
  /// Random initialisation for `tokenizer`; config.vocab_size is taken from the tokenizer.
  LearnedTextEncoder(Tokenizer tokenizer, LearnedEncoderConfig config);

  /// Trains the tokenizer on `captions`, then initialises the encoder for it.
  static std::unique_ptr<LearnedTextEncoder> create(const std::vector<std::string>& captions,
                                                    const TokenizerTrainingOptions& tokenizer_options,
                                                    const LearnedEncoderConfig& config);

  TextCondition encode(const std::vector<std::string>& texts, std::int64_t max_len,
                       Padding padding = Padding::Longest) override;
  TextCondition encode_ids(const torch::Tensor& ids, const torch::Tensor& mask) override;
  std::int64_t width() const override { return module_->config().width; }
  std::string identity() const override;
  bool trainable() const override { return true; }
  const Tokenizer& tokenizer() const override { return tokenizer_; }

  LearnedTextTransformer& module() { return module_; }

  /// The weights under `prefix`, plus `prefix`spm: the SentencePiece model as uint8 bytes, so
  /// a checkpoint holds everything needed to encode again.
  io::TensorMap state(const std::string& prefix = "text_encoder.") const;
  /// `prefix`config: the architecture as JSON.
  io::Metadata metadata(const std::string& prefix = "text_encoder.") const;
  /// Rebuilds an encoder from state() and metadata(); errors name `origin` and the tensor.
  static std::unique_ptr<LearnedTextEncoder> from_state(const io::TensorMap& tensors, const io::Metadata& metadata,
                                                        const std::string& origin,
                                                        const std::string& prefix = "text_encoder.");

  void save(const std::string& path) const;  ///< a safetensors file of state() and metadata()
  static std::unique_ptr<LearnedTextEncoder> load(const std::string& path);

private:
  Tokenizer tokenizer_;
  LearnedTextTransformer module_;
};

} // namespace t2i::text
