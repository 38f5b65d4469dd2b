#include "text/learned_encoder.h"

#include "t2i/log.h"
#include "t2i/runtime.h"
#include "text/sentencepiece_api.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <unordered_map>

namespace t2i::text {
namespace {

// One pre-LayerNorm transformer block (Vaswani et al. 2017; pre-LN as in GPT-2 and GLIDE's text
// transformer).
class EncoderBlockImpl : public torch::nn::Module {
public:
  EncoderBlockImpl(std::int64_t width, std::int64_t heads, std::int64_t mlp_ratio) : heads_(heads) {
    attention_norm_ = register_module("attention_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
    qkv_ = register_module("qkv", torch::nn::Linear(width, 3 * width));
    out_ = register_module("out", torch::nn::Linear(width, width));
    mlp_norm_ = register_module("mlp_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
    fc1_ = register_module("fc1", torch::nn::Linear(width, mlp_ratio * width));
    fc2_ = register_module("fc2", torch::nn::Linear(mlp_ratio * width, width));
  }

  // key_bias [B, 1, 1, L]: 0 at real keys, the lowest float at padding.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& key_bias) {
    const std::int64_t batch = x.size(0), length = x.size(1), width = x.size(2);
    const std::int64_t head_dim = width / heads_;
    const auto qkv = qkv_->forward(attention_norm_->forward(x)).view({batch, length, 3, heads_, head_dim}).permute({2, 0, 3, 1, 4});
    const auto q = qkv[0], k = qkv[1], v = qkv[2];
    // Scaled dot-product attention (Vaswani et al. 2017, eq. 1), softmax in float32.
    const auto scores =
        torch::matmul(q, k.transpose(-1, -2)).to(torch::kFloat32) / std::sqrt(static_cast<double>(head_dim)) + key_bias;
    const auto weights = torch::softmax(scores, -1).to(v.scalar_type());
    const auto context = torch::matmul(weights, v).transpose(1, 2).reshape({batch, length, width});
    const auto h = x + out_->forward(context);
    return h + fc2_->forward(torch::gelu(fc1_->forward(mlp_norm_->forward(h))));
  }

private:
  std::int64_t heads_;
  torch::nn::LayerNorm attention_norm_{nullptr}, mlp_norm_{nullptr};
  torch::nn::Linear qkv_{nullptr}, out_{nullptr}, fc1_{nullptr}, fc2_{nullptr};
};
TORCH_MODULE(EncoderBlock);

std::int64_t config_field(const nlohmann::json& json, const char* name, const std::string& origin) {
  if (!json.contains(name) || !json.at(name).is_number_integer() || json.at(name).get<std::int64_t>() <= 0)
    throw std::runtime_error(origin + ": the learned text encoder's config needs a positive integer \"" + name + "\"");
  return json.at(name).get<std::int64_t>();
}

void validate(const LearnedEncoderConfig& c, const std::string& origin) {
  if (c.vocab_size <= kUnkId || c.max_len < 1 || c.width < 1 || c.layers < 1 || c.heads < 1 || c.mlp_ratio < 1)
    throw std::invalid_argument(origin + ": invalid learned text encoder config " + c.to_json());
  if (c.width % c.heads != 0)
    throw std::invalid_argument(origin + ": width " + std::to_string(c.width) + " is not a multiple of heads " +
                                std::to_string(c.heads));
}

} // namespace

std::string train_caption_tokenizer(const std::vector<std::string>& captions, const TokenizerTrainingOptions& options) {
  if (options.vocab_size <= kUnkId + 1)
    throw std::invalid_argument("tokenizer training: vocab_size must exceed the 3 special pieces");
  const int threads = options.threads > 0 ? options.threads : runtime::available_cores();
  // BPE, not unigram: on a small caption set (the demo's 20,000 captions of ~20 words, a user's
  // few dozen) SentencePiece's unigram trainer keeps ~40 pieces and spells frequent words letter
  // by letter ("▁ re d", "▁b l u e", "▁ f ir e"), so captions that differ in one word differ in
  // letters they share with every other word. BPE merges each caption word into one piece while
  // the vocabulary has room, and splits only the rarest words of a large set.
  // hard_vocab_limit=false: vocab_size is a ceiling; a small caption set yields fewer pieces
  // instead of an error.
  const std::unordered_map<std::string, std::string> arguments{
      {"model_type", "bpe"},
      {"vocab_size", std::to_string(options.vocab_size)},
      {"hard_vocab_limit", "false"},
      {"character_coverage", "1.0"},
      {"pad_id", std::to_string(kPadId)},
      {"eos_id", std::to_string(kEosId)},
      {"unk_id", std::to_string(kUnkId)},
      {"bos_id", "-1"},
      {"num_threads", std::to_string(threads)},
      // Nothing but fatal errors: BPE's "No valid symbol found" warning crashed `t2i train`
      // inside std::ostream's sentry (seen in gdb), most likely because the module, loaded with
      // RTLD_DEEPBIND, writes to a std::cerr that is not the program's initialised one. Failures
      // still come back in the returned status.
      {"minloglevel", "3"},
  };
  std::vector<std::string> sentences;
  for (const std::string& caption : captions)
    if (!caption.empty()) sentences.push_back(caption);
  if (sentences.empty()) throw std::invalid_argument("tokenizer training: no non-empty caption to learn from");
  std::string model, error;
  if (!sentencepiece_api().train(arguments, sentences, &model, &error))
    throw std::runtime_error("SentencePiece training on " + std::to_string(captions.size()) + " captions failed: " + error);
  log::core()->info("trained a SentencePiece BPE model on {} captions", captions.size());
  return model;
}

std::string LearnedEncoderConfig::to_json() const {
  return nlohmann::json{{"vocab_size", vocab_size}, {"max_len", max_len}, {"width", width},
                        {"layers", layers},         {"heads", heads},     {"mlp_ratio", mlp_ratio}}
      .dump();
}

LearnedEncoderConfig LearnedEncoderConfig::parse(const std::string& text, const std::string& origin) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(origin + ": the learned text encoder's config is not valid JSON (" + e.what() + ")");
  }
  if (!json.is_object()) throw std::runtime_error(origin + ": the learned text encoder's config is not an object");
  LearnedEncoderConfig c;
  c.vocab_size = config_field(json, "vocab_size", origin);
  c.max_len = config_field(json, "max_len", origin);
  c.width = config_field(json, "width", origin);
  c.layers = config_field(json, "layers", origin);
  c.heads = config_field(json, "heads", origin);
  c.mlp_ratio = config_field(json, "mlp_ratio", origin);
  return c;
}

LearnedTextTransformerImpl::LearnedTextTransformerImpl(const LearnedEncoderConfig& config) : config_(config) {
  validate(config_, "learned text encoder");
  token_embedding_ = register_module("token_embedding", torch::nn::Embedding(config_.vocab_size, config_.width));
  position_embedding_ = register_parameter("position_embedding", torch::empty({config_.max_len, config_.width}));
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < config_.layers; ++i) blocks_->push_back(EncoderBlock(config_.width, config_.heads, config_.mlp_ratio));
  final_norm_ = register_module("final_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({config_.width})));
  torch::NoGradGuard no_grad;
  // GPT-2's embedding scales.
  torch::nn::init::normal_(token_embedding_->weight, 0.0, 0.02);
  torch::nn::init::normal_(position_embedding_, 0.0, 0.01);
}

TextCondition LearnedTextTransformerImpl::forward(const torch::Tensor& ids, const torch::Tensor& mask) {
  if (ids.dim() != 2 || mask.sizes() != ids.sizes())
    throw std::invalid_argument("learned text encoder: ids and mask must both be [B, L]");
  const std::int64_t batch = ids.size(0), length = ids.size(1);
  if (length > config_.max_len)
    throw std::invalid_argument("learned text encoder: " + std::to_string(length) + " tokens exceed its " +
                                std::to_string(config_.max_len) + " learned positions");
  const auto device = position_embedding_.device();
  const auto ids64 = ids.to(device, torch::kInt64);
  const auto real = mask.to(device, torch::kBool);
  auto x = token_embedding_->forward(ids64) + position_embedding_.slice(0, 0, length).unsqueeze(0);
  const auto key_bias = torch::zeros({batch, 1, 1, length}, torch::TensorOptions().dtype(torch::kFloat32).device(device))
                            .masked_fill(real.logical_not().view({batch, 1, 1, length}),
                                         std::numeric_limits<float>::lowest());
  for (const auto& block : *blocks_) x = block->as<EncoderBlockImpl>()->forward(x, key_bias);
  return make_condition(final_norm_->forward(x), real);
}

LearnedTextEncoder::LearnedTextEncoder(Tokenizer tokenizer, LearnedEncoderConfig config)
    : tokenizer_(std::move(tokenizer)), module_(nullptr) {
  config.vocab_size = tokenizer_.vocab_size();
  module_ = LearnedTextTransformer(config);
}

std::unique_ptr<LearnedTextEncoder> LearnedTextEncoder::create(const std::vector<std::string>& captions,
                                                               const TokenizerTrainingOptions& tokenizer_options,
                                                               const LearnedEncoderConfig& config) {
  Tokenizer tokenizer =
      Tokenizer::from_bytes(train_caption_tokenizer(captions, tokenizer_options), "SentencePiece model trained on captions");
  return std::make_unique<LearnedTextEncoder>(std::move(tokenizer), config);
}

TextCondition LearnedTextEncoder::encode(const std::vector<std::string>& texts, std::int64_t max_len, Padding padding) {
  if (max_len > module_->config().max_len)
    throw std::invalid_argument("learned text encoder: max_len " + std::to_string(max_len) + " exceeds its " +
                                std::to_string(module_->config().max_len) + " learned positions");
  const TokenBatch tokens = tokenizer_.batch(texts, max_len, padding);
  return encode_ids(tokens.ids, tokens.mask);
}

TextCondition LearnedTextEncoder::encode_ids(const torch::Tensor& ids, const torch::Tensor& mask) {
  return module_->forward(ids, mask);
}

std::string LearnedTextEncoder::identity() const {
  return "learned " + module_->config().to_json() + " spm " + tokenizer_.fingerprint();
}

io::TensorMap LearnedTextEncoder::state(const std::string& prefix) const {
  io::TensorMap tensors;
  for (const auto& item : module_->named_parameters()) tensors[prefix + item.key()] = item.value().detach().cpu();
  const std::string& model = tokenizer_.model_bytes();
  auto bytes = torch::empty({static_cast<std::int64_t>(model.size())}, torch::kUInt8);
  std::memcpy(bytes.data_ptr(), model.data(), model.size());
  tensors[prefix + "spm"] = bytes;
  return tensors;
}

io::Metadata LearnedTextEncoder::metadata(const std::string& prefix) const {
  return {{prefix + "config", module_->config().to_json()}};
}

std::unique_ptr<LearnedTextEncoder> LearnedTextEncoder::from_state(const io::TensorMap& tensors,
                                                                   const io::Metadata& metadata,
                                                                   const std::string& origin,
                                                                   const std::string& prefix) {
  const auto config_entry = metadata.find(prefix + "config");
  if (config_entry == metadata.end())
    throw std::runtime_error(origin + ": no \"" + prefix + "config\" metadata (not a learned text encoder)");
  const LearnedEncoderConfig config = LearnedEncoderConfig::parse(config_entry->second, origin);
  const auto spm = tensors.find(prefix + "spm");
  if (spm == tensors.end() || spm->second.scalar_type() != torch::kUInt8 || spm->second.dim() != 1)
    throw io::TensorFileError(origin, "tensor " + prefix + "spm (the SentencePiece model as uint8 bytes) is missing");
  const auto bytes = spm->second.contiguous();
  Tokenizer tokenizer = Tokenizer::from_bytes(
      std::string(static_cast<const char*>(bytes.data_ptr()), static_cast<std::size_t>(bytes.numel())), origin);
  if (tokenizer.vocab_size() != config.vocab_size)
    throw std::runtime_error(origin + ": the stored SentencePiece model has " + std::to_string(tokenizer.vocab_size()) +
                             " pieces but the encoder's config says " + std::to_string(config.vocab_size));
  auto encoder = std::make_unique<LearnedTextEncoder>(std::move(tokenizer), config);
  torch::NoGradGuard no_grad;
  for (auto& item : encoder->module_->named_parameters())
    item.value().copy_(io::require(tensors, prefix + item.key(), item.value().sizes(), origin));
  return encoder;
}

void LearnedTextEncoder::save(const std::string& path) const { io::save_safetensors(path, state(), metadata()); }

std::unique_ptr<LearnedTextEncoder> LearnedTextEncoder::load(const std::string& path) {
  return from_state(io::load_tensors(path), io::load_safetensors_metadata(path), path);
}

} // namespace t2i::text
