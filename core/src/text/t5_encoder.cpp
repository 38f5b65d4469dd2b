#include "text/t5_encoder.h"

#include "io/hash.h"
#include "io/text_file.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace t2i::text {
namespace {

namespace fs = std::filesystem;

std::int64_t positive_field(const nlohmann::json& config, const char* name, std::int64_t fallback,
                            const std::string& origin) {
  if (!config.contains(name)) return fallback;
  const auto& value = config.at(name);
  if (!value.is_number_integer() || value.get<std::int64_t>() <= 0)
    throw std::runtime_error(origin + ": \"" + name + "\" must be a positive integer, got " + value.dump());
  return value.get<std::int64_t>();
}

torch::ScalarType compute_dtype(runtime::Precision precision) {
  return precision == runtime::Precision::BFloat16 ? torch::kBFloat16 : torch::kFloat32;
}

// T5LayerNorm: scale only, no mean subtraction, no bias (design.md §5).
torch::Tensor rms_norm(const torch::Tensor& hidden, const torch::Tensor& weight, double eps) {
  const auto variance = hidden.pow(2).mean(-1, /*keepdim=*/true);
  return weight * (hidden * torch::rsqrt(variance + eps));
}

torch::Tensor dense(const torch::Tensor& x, const torch::Tensor& weight) {
  return torch::linear(x.to(weight.scalar_type()), weight);
}

// The weight files of a Hugging Face folder, in the order Hugging Face itself prefers them.
io::TensorMap load_folder_weights(const fs::path& folder, std::string& origin) {
  const fs::path safetensors = folder / "model.safetensors";
  const fs::path safetensors_index = folder / "model.safetensors.index.json";
  const fs::path bin = folder / "pytorch_model.bin";
  const fs::path bin_index = folder / "pytorch_model.bin.index.json";
  for (const fs::path& single : {safetensors, safetensors_index, bin}) {
    if (fs::exists(single)) {
      origin = single.string();
      return io::load_tensors(origin);
    }
  }
  if (!fs::exists(bin_index))
    throw std::runtime_error(folder.string() +
                             ": no T5 weights (model.safetensors, model.safetensors.index.json, pytorch_model.bin "
                             "or pytorch_model.bin.index.json)");
  // Sharded torch.save files: load only the shards that hold encoder tensors.
  origin = bin_index.string();
  return io::load_tensors(origin, [](const std::string& name) {
    return name.rfind("encoder.", 0) == 0 || name == "shared.weight";
  });
}

} // namespace

T5Config T5Config::parse(const std::string& json, const std::string& origin) {
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(json);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(origin + ": not valid JSON (" + e.what() + ")");
  }
  if (!config.is_object()) throw std::runtime_error(origin + ": not a JSON object");
  T5Config c;
  c.vocab_size = positive_field(config, "vocab_size", c.vocab_size, origin);
  c.d_model = positive_field(config, "d_model", c.d_model, origin);
  c.d_kv = positive_field(config, "d_kv", c.d_kv, origin);
  c.num_heads = positive_field(config, "num_heads", c.num_heads, origin);
  c.num_layers = positive_field(config, "num_layers", c.num_layers, origin);
  c.d_ff = positive_field(config, "d_ff", c.d_ff, origin);
  c.relative_attention_num_buckets =
      positive_field(config, "relative_attention_num_buckets", c.relative_attention_num_buckets, origin);
  c.relative_attention_max_distance =
      positive_field(config, "relative_attention_max_distance", c.relative_attention_max_distance, origin);
  if (config.contains("layer_norm_epsilon")) {
    const auto& eps = config.at("layer_norm_epsilon");
    if (!eps.is_number() || eps.get<double>() <= 0)
      throw std::runtime_error(origin + ": \"layer_norm_epsilon\" must be a positive number, got " + eps.dump());
    c.layer_norm_epsilon = eps.get<double>();
  }
  const std::string proj = config.value("feed_forward_proj", std::string("relu"));
  if (proj == "gated-gelu") c.gated_gelu = true;
  else if (proj != "relu")
    throw std::runtime_error(origin + ": feed_forward_proj \"" + proj + "\" is not supported (relu or gated-gelu)");
  // The bidirectional bucketing needs at least two exact buckets per direction.
  if (c.relative_attention_num_buckets < 4)
    throw std::runtime_error(origin + ": relative_attention_num_buckets must be at least 4");
  if (c.relative_attention_max_distance <= c.relative_attention_num_buckets / 4)
    throw std::runtime_error(origin + ": relative_attention_max_distance must exceed relative_attention_num_buckets / 4");
  return c;
}

T5Config T5Config::from_file(const std::string& path) { return parse(io::read_text_file(path, "the T5 config"), path); }

T5Config T5Config::v1_1_base() {
  T5Config c;
  c.d_model = 768;
  c.d_kv = 64;
  c.num_heads = 12;
  c.num_layers = 12;
  c.d_ff = 2048;
  c.gated_gelu = true;
  return c;
}

std::string T5Config::summary() const {
  std::ostringstream out;
  out << "vocab " << vocab_size << " d_model " << d_model << " d_kv " << d_kv << " heads " << num_heads
      << " layers " << num_layers << " d_ff " << d_ff << " buckets " << relative_attention_num_buckets
      << " max_distance " << relative_attention_max_distance << " eps " << layer_norm_epsilon << " "
      << (gated_gelu ? "gated-gelu" : "relu");
  return out.str();
}

torch::Tensor relative_position_buckets(std::int64_t length, std::int64_t num_buckets, std::int64_t max_distance) {
  const auto position = torch::arange(length, torch::kInt64);
  const auto relative = position.unsqueeze(0) - position.unsqueeze(1);  // [query, key]: key − query
  const std::int64_t half = num_buckets / 2;                             // one half per direction
  const std::int64_t max_exact = half / 2;
  auto buckets = (relative > 0).to(torch::kInt64) * half;
  const auto distance = relative.abs();
  // Raffel et al. 2020 (T5), logarithmic buckets beyond max_exact, as Hugging Face computes them
  // (float32 log, then truncation). The clamp only keeps log() finite where the exact branch wins.
  const auto far = distance.clamp_min(1).to(torch::kFloat32);
  auto large = max_exact + (torch::log(far / static_cast<double>(max_exact)) /
                            std::log(static_cast<double>(max_distance) / static_cast<double>(max_exact)) *
                            static_cast<double>(half - max_exact))
                               .to(torch::kInt64);
  large = large.clamp_max(half - 1);
  return buckets + torch::where(distance < max_exact, distance, large);
}

T5Model::T5Model(const T5Config& config, const io::TensorMap& weights, const std::string& origin, runtime::Precision precision)
    : config_(config), precision_(precision) {
  const auto& c = config_;
  const std::int64_t inner = c.num_heads * c.d_kv;
  const auto dtype = compute_dtype(precision);
  io::Hash64 fingerprint(io::HashScheme::xxhash_rounds);
  // Matrices run in the compute precision; norm scales and the position bias stay float32.
  auto take = [&](const std::string& name, c10::IntArrayRef shape, torch::ScalarType as) {
    const torch::Tensor t = io::require(weights, name, shape, origin).contiguous();
    fingerprint.text(name).text(c10::toString(t.scalar_type()));
    fingerprint.bytes(t.data_ptr(), t.numel() * t.element_size());
    return t.to(as).contiguous();
  };
  const std::string embedding_name = weights.count("shared.weight") ? "shared.weight" : "encoder.embed_tokens.weight";
  embedding_ = take(embedding_name, {c.vocab_size, c.d_model}, dtype);
  relative_attention_bias_ = take("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
                                  {c.relative_attention_num_buckets, c.num_heads}, torch::kFloat32);
  for (std::int64_t i = 0; i < c.num_layers; ++i) {
    const std::string block = "encoder.block." + std::to_string(i) + ".";
    Layer layer;
    layer.attention_norm = take(block + "layer.0.layer_norm.weight", {c.d_model}, torch::kFloat32);
    layer.qkv = torch::cat({take(block + "layer.0.SelfAttention.q.weight", {inner, c.d_model}, dtype),
                            take(block + "layer.0.SelfAttention.k.weight", {inner, c.d_model}, dtype),
                            take(block + "layer.0.SelfAttention.v.weight", {inner, c.d_model}, dtype)});
    layer.o = take(block + "layer.0.SelfAttention.o.weight", {c.d_model, inner}, dtype);
    layer.ff_norm = take(block + "layer.1.layer_norm.weight", {c.d_model}, torch::kFloat32);
    if (c.gated_gelu) {
      layer.wi = torch::cat({take(block + "layer.1.DenseReluDense.wi_0.weight", {c.d_ff, c.d_model}, dtype),
                             take(block + "layer.1.DenseReluDense.wi_1.weight", {c.d_ff, c.d_model}, dtype)});
    } else {
      layer.wi = take(block + "layer.1.DenseReluDense.wi.weight", {c.d_ff, c.d_model}, dtype);
    }
    layer.wo = take(block + "layer.1.DenseReluDense.wo.weight", {c.d_model, c.d_ff}, dtype);
    layers_.push_back(std::move(layer));
  }
  const std::string extra = "encoder.block." + std::to_string(c.num_layers) + ".layer.0.SelfAttention.q.weight";
  if (weights.count(extra))
    throw io::TensorFileError(origin, "holds " + extra + " but config.json says num_layers " +
                              std::to_string(c.num_layers));
  final_norm_ = take("encoder.final_layer_norm.weight", {c.d_model}, torch::kFloat32);
  fingerprint_ = fingerprint.hex();
}

torch::Tensor T5Model::position_bias(std::int64_t length) const {
  const auto buckets =
      relative_position_buckets(length, config_.relative_attention_num_buckets, config_.relative_attention_max_distance);
  return relative_attention_bias_.index_select(0, buckets.reshape(-1))
      .reshape({length, length, config_.num_heads})
      .permute({2, 0, 1})
      .unsqueeze(0);
}

torch::Tensor T5Model::attention(const Layer& layer, const torch::Tensor& hidden, const torch::Tensor& bias) const {
  const std::int64_t batch = hidden.size(0), length = hidden.size(1);
  const auto x = rms_norm(hidden, layer.attention_norm, config_.layer_norm_epsilon);
  const auto qkv = dense(x, layer.qkv).view({batch, length, 3, config_.num_heads, config_.d_kv}).permute({2, 0, 3, 1, 4});
  const auto q = qkv[0], k = qkv[1], v = qkv[2];
  // No 1/√d_kv: T5 folds it into the initialisation of q (design.md §5).
  const auto scores = torch::matmul(q, k.transpose(-1, -2)).to(torch::kFloat32) + bias;
  const auto weights = torch::softmax(scores, -1).to(v.scalar_type());
  const auto context = torch::matmul(weights, v).transpose(1, 2).reshape({batch, length, config_.num_heads * config_.d_kv});
  return dense(context, layer.o).to(torch::kFloat32);
}

torch::Tensor T5Model::feed_forward(std::int64_t layer_index, const torch::Tensor& hidden) const {
  torch::NoGradGuard no_grad;
  const Layer& layer = layers_.at(static_cast<std::size_t>(layer_index));
  const auto x = rms_norm(hidden, layer.ff_norm, config_.layer_norm_epsilon);
  const auto projected = dense(x, layer.wi);
  torch::Tensor inner;
  if (config_.gated_gelu) {  // T5 v1.1: wo(gelu_tanh(wi_0 x) * wi_1 x)
    const auto gate_and_value = projected.chunk(2, -1);
    inner = torch::gelu(gate_and_value[0], "tanh") * gate_and_value[1];
  } else {  // T5 v1.0: wo(relu(wi x))
    inner = torch::relu(projected);
  }
  return hidden + dense(inner, layer.wo).to(torch::kFloat32);
}

T5Output T5Model::forward(const torch::Tensor& ids, const torch::Tensor& mask, bool keep_hidden_states) const {
  torch::NoGradGuard no_grad;
  if (ids.dim() != 2 || mask.sizes() != ids.sizes())
    throw std::invalid_argument("T5 encoder: ids and mask must both be [B, L]");
  if (ids.numel() > 0) {
    const auto low = ids.min().item<std::int64_t>(), high = ids.max().item<std::int64_t>();
    if (low < 0 || high >= config_.vocab_size)
      throw std::invalid_argument("T5 encoder: token id " + std::to_string(low < 0 ? low : high) +
                                  " outside the vocabulary of " + std::to_string(config_.vocab_size));
  }
  const std::int64_t batch = ids.size(0), length = ids.size(1);
  const auto ids64 = ids.to(torch::kInt64);
  auto hidden = embedding_.index_select(0, ids64.reshape(-1)).reshape({batch, length, config_.d_model}).to(torch::kFloat32);
  T5Output out;
  if (keep_hidden_states) out.hidden_states.push_back(hidden);
  // Padding keys get the lowest float added, as Hugging Face does: their weight underflows to 0
  // without the NaN an -inf row would give.
  const auto key_mask = torch::zeros({batch, 1, 1, length}, torch::kFloat32)
                            .masked_fill(mask.to(torch::kBool).logical_not().view({batch, 1, 1, length}),
                                         std::numeric_limits<float>::lowest());
  const auto bias = position_bias(length) + key_mask;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    hidden = hidden + attention(layers_[i], hidden, bias);
    hidden = feed_forward(static_cast<std::int64_t>(i), hidden);
    if (keep_hidden_states) out.hidden_states.push_back(hidden);
  }
  out.last_hidden_state = rms_norm(hidden, final_norm_, config_.layer_norm_epsilon);
  return out;
}

std::int64_t T5Model::parameter_count() const {
  std::int64_t n = embedding_.numel() + relative_attention_bias_.numel() + final_norm_.numel();
  for (const Layer& layer : layers_)
    for (const auto* t : {&layer.attention_norm, &layer.qkv, &layer.o, &layer.ff_norm, &layer.wi, &layer.wo})
      n += t->numel();
  return n;
}

io::TensorMap random_t5_weights(const T5Config& c, std::uint64_t seed) {
  auto generator = at::detail::createCPUGenerator(seed);
  auto normal = [&](std::vector<std::int64_t> shape, double std) {
    return at::normal(0.0, std, shape, generator, torch::TensorOptions().dtype(torch::kFloat32));
  };
  // Hugging Face's T5PreTrainedModel._init_weights scales (factor 1).
  const std::int64_t inner = c.num_heads * c.d_kv;
  const double dm = static_cast<double>(c.d_model);
  io::TensorMap w;
  w["shared.weight"] = normal({c.vocab_size, c.d_model}, 1.0);
  w["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"] =
      normal({c.relative_attention_num_buckets, c.num_heads}, 1.0 / std::sqrt(dm));
  for (std::int64_t i = 0; i < c.num_layers; ++i) {
    const std::string block = "encoder.block." + std::to_string(i) + ".";
    w[block + "layer.0.layer_norm.weight"] = torch::ones({c.d_model});
    w[block + "layer.0.SelfAttention.q.weight"] = normal({inner, c.d_model}, 1.0 / std::sqrt(dm * c.d_kv));
    w[block + "layer.0.SelfAttention.k.weight"] = normal({inner, c.d_model}, 1.0 / std::sqrt(dm));
    w[block + "layer.0.SelfAttention.v.weight"] = normal({inner, c.d_model}, 1.0 / std::sqrt(dm));
    w[block + "layer.0.SelfAttention.o.weight"] = normal({c.d_model, inner}, 1.0 / std::sqrt(static_cast<double>(inner)));
    w[block + "layer.1.layer_norm.weight"] = torch::ones({c.d_model});
    if (c.gated_gelu) {
      w[block + "layer.1.DenseReluDense.wi_0.weight"] = normal({c.d_ff, c.d_model}, 1.0 / std::sqrt(dm));
      w[block + "layer.1.DenseReluDense.wi_1.weight"] = normal({c.d_ff, c.d_model}, 1.0 / std::sqrt(dm));
    } else {
      w[block + "layer.1.DenseReluDense.wi.weight"] = normal({c.d_ff, c.d_model}, 1.0 / std::sqrt(dm));
    }
    w[block + "layer.1.DenseReluDense.wo.weight"] =
        normal({c.d_model, c.d_ff}, 1.0 / std::sqrt(static_cast<double>(c.d_ff)));
  }
  w["encoder.final_layer_norm.weight"] = torch::ones({c.d_model});
  return w;
}

T5Encoder::T5Encoder(Tokenizer tokenizer, T5Model model) : tokenizer_(std::move(tokenizer)), model_(std::move(model)) {
  if (tokenizer_.vocab_size() > model_.config().vocab_size)
    throw std::runtime_error(tokenizer_.origin() + ": " + std::to_string(tokenizer_.vocab_size()) +
                             " pieces do not fit the T5 vocabulary of " + std::to_string(model_.config().vocab_size));
}

std::unique_ptr<T5Encoder> T5Encoder::from_folder(const std::string& folder, const std::string& spm,
                                                  runtime::Precision precision) {
  const fs::path dir(folder);
  if (!fs::is_directory(dir)) throw std::runtime_error(folder + ": not a folder (a Hugging Face T5 folder expected)");
  const T5Config config = T5Config::from_file((dir / "config.json").string());
  std::string origin;
  const io::TensorMap weights = load_folder_weights(dir, origin);
  Tokenizer tokenizer = Tokenizer::from_file(spm.empty() ? (dir / "spiece.model").string() : spm);
  return std::make_unique<T5Encoder>(std::move(tokenizer), T5Model(config, weights, origin, precision));
}

TextCondition T5Encoder::encode(const std::vector<std::string>& texts, std::int64_t max_len, Padding padding) {
  const TokenBatch tokens = tokenizer_.batch(texts, max_len, padding);
  return encode_ids(tokens.ids, tokens.mask);
}

TextCondition T5Encoder::encode_ids(const torch::Tensor& ids, const torch::Tensor& mask) {
  torch::NoGradGuard no_grad;
  return make_condition(model_.forward(ids, mask).last_hidden_state, mask);
}

std::string T5Encoder::identity() const {
  return "t5 [" + model_.config().summary() + "] weights " + model_.weights_fingerprint() + " spm " +
         tokenizer_.fingerprint() + " " + to_string(model_.precision());
}

} // namespace t2i::text
