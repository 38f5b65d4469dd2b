#include "sample/text_to_image_model.h"

#include "model/preset_config.h"

#include <algorithm>
#include <stdexcept>

namespace t2i::sample {
namespace {

constexpr const char* kUnet = "unet";
constexpr const char* kEmaUnet = "ema_unet";
constexpr const char* kText = "text_encoder.";
constexpr const char* kEmaText = "ema_text_encoder.";

std::vector<std::pair<std::string, torch::Tensor>> named(const torch::nn::Module& module) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : module.named_parameters()) out.emplace_back(item.key(), item.value());
  for (const auto& item : module.named_buffers()) out.emplace_back("buffer." + item.key(), item.value());
  return out;
}

void load_group(const torch::nn::Module& module, const model::Checkpoint& checkpoint, const std::string& prefix,
                const std::string& origin) {
  torch::NoGradGuard no_grad;
  for (auto& [name, target] : named(module)) {
    const torch::Tensor stored = io::require(checkpoint.tensors, prefix + "/" + name, target.sizes(), origin);
    target.copy_(stored);
  }
}

text::LearnedEncoderConfig learned_config(const model::Preset& preset) {
  text::LearnedEncoderConfig config;
  config.max_len = preset.max_text_length;
  config.width = preset.text_encoder.learned_width;
  config.layers = preset.text_encoder.learned_layers;
  config.heads = preset.text_encoder.learned_heads;
  return config;
}

io::Metadata metadata_from_json(const nlohmann::json& j) {
  io::Metadata out;
  for (const auto& [key, value] : j.items()) out[key] = value.get<std::string>();
  return out;
}

} // namespace

TextToImageModel::TextToImageModel(model::Preset preset, std::string preset_json, const torch::Device& device)
    : preset_(std::move(preset)), preset_json_(std::move(preset_json)), device_(device) {}

void TextToImageModel::build_unet(std::int64_t text_width) {
  const model::UNetConfig config = model::unet_config(preset_, text_width);
  unet_ = model::UNet(config);
  ema_unet_ = model::UNet(config);
  unet_->to(device_);
  ema_unet_->to(device_);
  ema_unet_->eval();
  for (auto& p : ema_unet_->parameters()) p.set_requires_grad(false);
  torch::NoGradGuard no_grad;
  for (const auto& item : unet_->named_parameters()) ema_unet_->named_parameters()[item.key()].copy_(item.value());
}

std::unique_ptr<TextToImageModel> TextToImageModel::create(const model::Preset& preset, const std::string& preset_json,
                                                           const TextEncoderChoice& text,
                                                           const std::vector<std::string>& train_captions,
                                                           const torch::Device& device) {
  std::unique_ptr<TextToImageModel> m(new TextToImageModel(preset, preset_json, device));
  if (!text.t5_dir.empty()) {
    m->t5_ = text::T5Encoder::from_folder(text.t5_dir, "", runtime::Precision::Float32);
    m->t5_dir_ = text.t5_dir;
    m->build_unet(m->t5_->width());
    return m;
  }
  text::TokenizerTrainingOptions tokenizer_options;
  tokenizer_options.vocab_size = preset.text_encoder.learned_vocab_size;
  m->learned_ = text::LearnedTextEncoder::create(train_captions, tokenizer_options, learned_config(preset));
  m->ema_learned_ = std::make_unique<text::LearnedTextEncoder>(
      text::Tokenizer::from_bytes(m->learned_->tokenizer().model_bytes(), m->learned_->tokenizer().origin()),
      m->learned_->module()->config());
  m->learned_->module()->to(device);
  m->ema_learned_->module()->to(device);
  m->ema_learned_->module()->eval();
  for (auto& p : m->ema_learned_->module()->parameters()) p.set_requires_grad(false);
  {
    torch::NoGradGuard no_grad;
    auto ema = m->ema_learned_->module()->named_parameters();
    for (const auto& item : m->learned_->module()->named_parameters()) ema[item.key()].copy_(item.value());
  }
  m->build_unet(m->learned_->width());
  return m;
}

std::unique_ptr<TextToImageModel> TextToImageModel::for_sampling(const model::Checkpoint& checkpoint, const std::string& origin,
                                                                 const torch::Device& device) {
  std::unique_ptr<TextToImageModel> m = from_checkpoint(checkpoint, origin, device);
  m->set_execution(model::default_execution(device.is_cuda() ? "cuda" : "cpu"));
  m->ema_unet_->freeze_for_sampling();
  return m;
}

std::unique_ptr<TextToImageModel> TextToImageModel::from_checkpoint(const model::Checkpoint& checkpoint, const std::string& origin,
                                                                    const torch::Device& device) {
  const nlohmann::json& meta = checkpoint.meta;
  if (!meta.contains("preset_json") || !meta.contains("text")) throw std::runtime_error(origin + ": checkpoint has no model description");
  // Stored again in the current preset format: a checkpoint resumed from an older one is saved
  // as a current one.
  model::Preset preset = model::stored_preset(meta, origin);
  std::unique_ptr<TextToImageModel> m(new TextToImageModel(preset, model::preset_to_json(preset), device));
  const nlohmann::json& text = meta.at("text");
  if (text.at("kind") == "t5") {
    m->t5_dir_ = text.at("t5_dir").get<std::string>();
    m->t5_ = text::T5Encoder::from_folder(m->t5_dir_, "", runtime::Precision::Float32);
    if (m->t5_->identity() != text.at("identity").get<std::string>())
      throw std::runtime_error(origin + ": trained with T5 encoder " + text.at("identity").get<std::string>() +
                               " but " + m->t5_dir_ + " now holds " + m->t5_->identity());
    m->build_unet(m->t5_->width());
  } else {
    const io::Metadata text_meta = metadata_from_json(text.at("metadata"));
    io::TensorMap online, ema;
    for (const auto& [name, tensor] : checkpoint.tensors) {
      if (name.rfind(kText, 0) == 0) online[name] = tensor;
      if (name.rfind(kEmaText, 0) == 0) ema[std::string(kText) + name.substr(std::string(kEmaText).size())] = tensor;
    }
    m->learned_ = text::LearnedTextEncoder::from_state(online, text_meta, origin, kText);
    m->ema_learned_ = ema.empty() ? text::LearnedTextEncoder::from_state(online, text_meta, origin, kText)
                                  : text::LearnedTextEncoder::from_state(ema, text_meta, origin, kText);
    m->learned_->module()->to(device);
    m->ema_learned_->module()->to(device);
    m->ema_learned_->module()->eval();
    for (auto& p : m->ema_learned_->module()->parameters()) p.set_requires_grad(false);
    m->build_unet(m->learned_->width());
  }
  const bool ema_only = meta.value("weights", "") == "ema";
  load_group(*m->unet_, checkpoint, ema_only ? kEmaUnet : kUnet, origin);
  load_group(*m->ema_unet_, checkpoint, kEmaUnet, origin);
  return m;
}

model::Checkpoint TextToImageModel::sampling_checkpoint(const model::Checkpoint& full, bool fp16) {
  model::Checkpoint out;
  for (const char* key : {"preset_json", "parameters", "text", "step", "manifest_hash"})
    if (full.meta.contains(key)) out.meta[key] = full.meta.at(key);
  out.meta["weights"] = "ema";
  const std::string ema_text = kEmaText;
  const bool has_ema_text = std::any_of(full.tensors.begin(), full.tensors.end(),
                                        [&](const auto& item) { return item.first.rfind(ema_text, 0) == 0; });
  for (const auto& [name, tensor] : full.tensors) {
    std::string kept;
    if (name.rfind(std::string(kEmaUnet) + "/", 0) == 0) kept = name;
    // The EMA text encoder is stored as the only one; its tokenizer bytes stay with it.
    else if (name.rfind(ema_text, 0) == 0) kept = kText + name.substr(ema_text.size());
    else if (name.rfind(kText, 0) == 0 && (!has_ema_text || name == std::string(kText) + "spm")) kept = name;
    if (kept.empty() || out.tensors.count(kept)) continue;
    out.tensors[kept] = fp16 && tensor.is_floating_point() ? tensor.to(torch::kFloat16) : tensor;
  }
  return out;
}

std::string TextToImageModel::text_encoder_name() const { return t5_ ? "t5:" + t5_dir_ : "learned"; }

std::int64_t TextToImageModel::parameter_count() const {
  std::int64_t count = unet_->parameter_count();
  if (learned_)
    for (const auto& p : learned_->module()->parameters()) count += p.numel();
  return count;
}

std::vector<std::pair<std::string, torch::Tensor>> TextToImageModel::trained_parameters() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : unet_->named_parameters()) out.emplace_back("unet." + item.key(), item.value());
  if (learned_)
    for (const auto& item : learned_->module()->named_parameters()) out.emplace_back("text." + item.key(), item.value());
  return out;
}

std::vector<torch::Tensor> TextToImageModel::ema_parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& item : ema_unet_->named_parameters()) out.push_back(item.value());
  if (ema_learned_)
    for (const auto& item : ema_learned_->module()->named_parameters()) out.push_back(item.value());
  return out;
}

void TextToImageModel::use_embedding_cache(text::EmbeddingCache cache) {
  if (!t5_) throw std::logic_error("an embedding cache only serves a frozen T5 encoder");
  if (!cache.matches(t5_->identity(), preset_.max_text_length))
    throw std::runtime_error("the text-embedding cache was built by another encoder or text length");
  t5_cache_.emplace(std::move(cache));
}

TextCondition TextToImageModel::encode(const std::vector<std::string>& captions, bool ema) {
  TextCondition condition;
  if (t5_) {
    torch::NoGradGuard no_grad;
    bool cached = t5_cache_.has_value();
    for (const auto& caption : captions) cached = cached && t5_cache_->contains(caption);
    condition = cached ? t5_cache_->lookup(captions) : t5_->encode(captions, preset_.max_text_length);
  } else {
    text::LearnedTextEncoder& encoder = ema ? *ema_learned_ : *learned_;
    const text::TokenBatch tokens = encoder.tokenizer().batch(captions, preset_.max_text_length, text::Padding::Longest);
    condition = encoder.encode_ids(tokens.ids.to(device_), tokens.mask.to(device_));
  }
  condition.embeddings = condition.embeddings.to(device_);
  condition.mask = condition.mask.to(device_);
  condition.drop = condition.drop.to(device_);
  return condition;
}

void TextToImageModel::check_low_res(const model::LowResCondition& low_res) const {
  if (preset_.super_resolution() && !low_res.defined())
    throw std::invalid_argument("preset " + preset_.name + " is a super-resolution stage (" +
                                std::to_string(preset_.unet.low_res_size) + "→" + std::to_string(image_size()) +
                                "): it needs the low-resolution images it enlarges (run it after a base model, in a cascade)");
  if (!preset_.super_resolution() && low_res.defined())
    throw std::invalid_argument("preset " + preset_.name + " is a base model: it takes no low-resolution image");
}

Denoiser TextToImageModel::denoiser(bool ema, const model::LowResCondition& low_res) const {
  check_low_res(low_res);
  const model::UNet& unet = ema ? ema_unet_ : unet_;
  return low_res.defined() ? model::as_denoiser(unet, low_res) : model::as_denoiser(unet);
}

Denoiser TextToImageModel::sampling_denoiser(model::AttentionObserver* attention_observer,
                                             const model::LowResCondition& low_res) const {
  check_low_res(low_res);
  return low_res.defined() ? model::as_sampling_denoiser(ema_unet_, low_res, attention_observer)
                           : model::as_sampling_denoiser(ema_unet_, attention_observer);
}

const text::Tokenizer& TextToImageModel::tokenizer() const { return t5_ ? t5_->tokenizer() : ema_learned_->tokenizer(); }

void TextToImageModel::set_train_mode(bool on) {
  unet_->train(on);
  if (learned_) learned_->module()->train(on);
}

void TextToImageModel::set_execution(const model::ExecutionOptions& execution) {
  unet_->set_execution(execution);
  model::ExecutionOptions sampling = execution;
  sampling.checkpoint = false;  // no backward through the EMA copy
  ema_unet_->set_execution(sampling);
}

void TextToImageModel::save_to(model::Checkpoint& checkpoint) const {
  checkpoint.put(kUnet, named(*unet_));
  checkpoint.put(kEmaUnet, named(*ema_unet_));
  checkpoint.meta["preset_json"] = preset_json_;
  checkpoint.meta["parameters"] = parameter_count();
  if (t5_) {
    checkpoint.meta["text"] = {{"kind", "t5"}, {"t5_dir", t5_dir_}, {"identity", t5_->identity()}};
    return;
  }
  for (auto& [name, tensor] : learned_->state(kText)) checkpoint.tensors[name] = tensor.to(torch::kCPU).contiguous();
  for (auto& [name, tensor] : ema_learned_->state(kEmaText)) checkpoint.tensors[name] = tensor.to(torch::kCPU).contiguous();
  nlohmann::json text_meta = nlohmann::json::object();
  for (const auto& [key, value] : learned_->metadata(kText)) text_meta[key] = value;
  checkpoint.meta["text"] = {{"kind", "learned"}, {"metadata", text_meta}};
}

void TextToImageModel::load_weights(const model::Checkpoint& checkpoint, const std::string& origin) {
  load_group(*unet_, checkpoint, kUnet, origin);
  load_group(*ema_unet_, checkpoint, kEmaUnet, origin);
  if (!learned_) return;
  torch::NoGradGuard no_grad;
  for (const auto& pair : {std::make_pair(learned_.get(), kText), std::make_pair(ema_learned_.get(), kEmaText)}) {
    for (const auto& item : pair.first->module()->named_parameters()) {
      const torch::Tensor stored =
          io::require(checkpoint.tensors, std::string(pair.second) + item.key(), item.value().sizes(), origin);
      item.value().copy_(stored);
    }
  }
}

} // namespace t2i::sample
