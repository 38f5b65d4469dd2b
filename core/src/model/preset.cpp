#include "t2i/model.h"

#include "io/format_version.h"
#include "io/text_file.h"
#include "model/preset_config.h"
#include "t2i/log.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <stdexcept>

namespace t2i::model {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// ---- values: between the Preset's members, the schema's PresetValue and UNetConfig's members

PresetValue to_value(int v) { return std::int64_t{v}; }
PresetValue to_value(double v) { return v; }
PresetValue to_value(bool v) { return v; }
PresetValue to_value(const std::string& v) { return v; }
PresetValue to_value(const std::vector<int>& v) { return std::vector<std::int64_t>(v.begin(), v.end()); }
PresetValue to_value(const std::vector<bool>& v) { return v; }
template <typename T>
PresetValue to_value(const std::optional<T>& v) {
  return v ? to_value(*v) : PresetValue{};
}

void from_value(const PresetValue& v, int& out) { out = static_cast<int>(std::get<std::int64_t>(v)); }
void from_value(const PresetValue& v, std::int64_t& out) { out = std::get<std::int64_t>(v); }
void from_value(const PresetValue& v, double& out) {
  out = std::holds_alternative<std::int64_t>(v) ? static_cast<double>(std::get<std::int64_t>(v)) : std::get<double>(v);
}
void from_value(const PresetValue& v, bool& out) { out = std::get<bool>(v); }
void from_value(const PresetValue& v, std::string& out) { out = std::get<std::string>(v); }
void from_value(const PresetValue& v, std::vector<int>& out) {
  const auto& items = std::get<std::vector<std::int64_t>>(v);
  out.assign(items.begin(), items.end());
}
void from_value(const PresetValue& v, std::vector<std::int64_t>& out) { out = std::get<std::vector<std::int64_t>>(v); }
void from_value(const PresetValue& v, std::vector<bool>& out) { out = std::get<std::vector<bool>>(v); }
template <typename T>
void from_value(const PresetValue& v, std::optional<T>& out) {
  if (std::holds_alternative<std::monostate>(v)) {
    out.reset();
  } else {
    T item{};
    from_value(v, item);
    out = item;
  }
}

using UNetSetter = std::function<void(UNetConfig&, const PresetValue&)>;

template <typename T>
UNetSetter into_unet(T UNetConfig::*member) {
  return [member](UNetConfig& config, const PresetValue& v) { from_value(v, config.*member); };
}

// ---- the table

// One row: the published field, plus where the U-Net configuration takes it from (U-Net rows).
struct Row {
  PresetField field;
  UNetSetter unet;

  Row(std::string key, FieldType type, std::string label) {
    field.key = std::move(key);
    field.type = type;
    field.label = std::move(label);
  }
  template <typename T>
  Row& at(T Preset::*member) {
    field.get = [member](const Preset& p) { return to_value(p.*member); };
    field.set = [member](Preset& p, const PresetValue& v) { from_value(v, p.*member); };
    return *this;
  }
  template <typename S, typename T>
  Row& at(S Preset::*group, T S::*member) {
    field.get = [group, member](const Preset& p) { return to_value(p.*group.*member); };
    field.set = [group, member](Preset& p, const PresetValue& v) { from_value(v, p.*group.*member); };
    return *this;
  }
  Row& range(double min, double max, bool min_exclusive = false) {
    field.min = min;
    field.max = max;
    field.min_exclusive = min_exclusive;
    return *this;
  }
  Row& decimals(int digits) {
    field.decimals = digits;
    return *this;
  }
  Row& choices(std::vector<std::string> allowed) {
    field.choices = std::move(allowed);
    return *this;
  }
  Row& required() {
    field.required = true;
    return *this;
  }
  Row& fallback(PresetValue value) {
    field.fallback = std::move(value);
    return *this;
  }
  Row& nullable() {
    field.nullable = true;
    return *this;
  }
  Row& table1(std::string column) {
    field.table1 = std::move(column);
    return *this;
  }
  Row& unit(std::string text) {
    field.unit = std::move(text);
    return *this;
  }
  Row& editable() {
    field.editable = true;
    return *this;
  }
  Row& help(std::string text) {
    field.help = std::move(text);
    return *this;
  }
  template <typename T>
  Row& unet_member(T UNetConfig::*member) {
    unet = into_unet(member);
    return *this;
  }
};

using Type = FieldType;
constexpr double kHuge = 1 << 30;

std::vector<Row> make_rows() {
  // Required: what fixes the model's size and Table 1's budget (a silent default would train a
  // different model). Optional: everything with one sensible value (the paper's), so a field
  // added later reads older files with the behaviour they had.
  std::vector<Row> rows;
  rows.push_back(Row("name", Type::Text, "Name").at(&Preset::name).required().help("The preset's name (small, base, …)."));
  rows.push_back(Row("description", Type::Text, "Description").at(&Preset::description).fallback(std::string())
                     .help("One line on what the preset is for."));
  rows.push_back(Row("batch_size", Type::Integer, "Batch size").at(&Preset::batch_size).range(1, 1 << 20).required()
                     .table1("batch size").unit("images").editable()
                     .help("Samples per optimiser step (32 for small and full, 64 for base and large; Imagen used 1024)."));
  rows.push_back(Row("max_batch_size", Type::Integer, "Max micro-batch").at(&Preset::max_batch_size).range(1, 1 << 20)
                     .required().table1("max batch size").unit("images").editable()
                     .help("Samples computed at once. A batch is split into micro-batches whose gradients are "
                           "accumulated, so memory follows this number while the optimiser still sees the whole batch. "
                           "At most the batch size."));
  rows.push_back(Row("max_text_length", Type::Integer, "Max text length").at(&Preset::max_text_length).range(1, 4096)
                     .required().table1("max length").unit("tokens").editable()
                     .help("Text tokens per caption (</s> included); longer captions are truncated. COCO captions have "
                           "about 14 T5 tokens."));
  rows.push_back(Row("diffusion_steps", Type::Integer, "Diffusion steps T").at(&Preset::diffusion_steps).range(1, 100000)
                     .required().table1("diffusion steps").unit("steps").editable()
                     .help("Noise levels of the forward process x_t = α_t x_0 + σ_t ε (500 for small and base, 1000 "
                           "for large and full). Sampling may use fewer steps."));
  rows.push_back(Row("unet_emb_dim", Type::Integer, "Paper: unet emb dim").at(&Preset::unet_emb_dim).range(1, 1 << 20)
                     .nullable().table1("unet emb dim")
                     .help("As the paper reports it, for comparison only (null: not reported)."));
  rows.push_back(Row("unet_hidden_size", Type::Integer, "Paper: unet hidden size").at(&Preset::unet_hidden_size)
                     .range(1, 1 << 20).nullable().table1("unet hidden size")
                     .help("As the paper reports it, for comparison only (null: not reported)."));
  rows.push_back(Row("eval_every", Type::Integer, "Evaluate every").at(&Preset::eval_every).range(1, kHuge).required()
                     .table1("eval every epochs").unit("steps").editable()
                     .help("Training steps between evaluations (validation P2 loss, a preview grid, and FID when the "
                           "validation loss improves). Before the first, a run also evaluates at steps 25, 50, 100, "
                           "… so its first points come early."));
  rows.push_back(Row("eval_val_steps", Type::Integer, "Validation batches").at(&Preset::eval_val_steps).range(1, kHuge)
                     .required().table1("eval val steps").unit("batches").editable()
                     .help("Validation batches averaged at each evaluation, with fixed noise and timesteps so "
                           "evaluations are comparable."));
  rows.push_back(Row("cond_scale", Type::Number, "Guidance scale w").at(&Preset::cond_scale).range(0, 100).decimals(2).required()
                     .table1("cond scale").editable()
                     .help("Classifier-free guidance weight for previews and FID samples, ε̃ = w·ε(z, c) + (1 − w)·ε(z) "
                           "(paper §5.4; 5 or 8 in the paper; 1 turns guidance off)."));
  rows.push_back(Row("sample_aug", Type::Number, "Sampling aug level").at(&Preset::sample_aug).range(0, 1).decimals(3)
                     .fallback(0.2)
                     .help("Super-resolution stages: the noise augmentation level aug (a diffusion time in [0, 1], see "
                           "training.aug_max) of the low-resolution input when sampling: previews, FID samples, and a "
                           "cascade's default (paper §2.3; imagen-pytorch samples at 0.2). Base models ignore it."));
  rows.push_back(Row("early_stop", Type::Integer, "Early stop").at(&Preset::early_stop).range(1, kHuge).nullable()
                     .table1("early stops").unit("steps").editable()
                     .help("Stop after this many steps without a better validation P2 loss (5000 base, 20k large, "
                           "2000 full; small has none). null: train until the step limit."));
  rows.push_back(Row("paper_parameters", Type::Number, "Paper: parameters").at(&Preset::paper_parameters)
                     .range(0, 1e12, true).nullable().table1("total parameters")
                     .help("The parameter count the paper reports, for comparison only (null: not reported)."));

  using U = PresetUNet;
  const auto unet = &Preset::unet;
  rows.push_back(Row("unet.image_size", Type::Integer, "Image size").at(unet, &U::image_size).range(8, 1024).required()
                     .unit("px").editable().unet_member(&UNetConfig::image_size)
                     .help("Side of the square images the model generates (64 in the paper; 32 for demo). The dataset "
                           "cache is built at this size."));
  rows.push_back(Row("unet.channels", Type::Integer, "Image channels").at(unet, &U::channels).range(1, 16).fallback(std::int64_t{3})
                     .unet_member(&UNetConfig::channels).help("Image channels in and out (3: RGB)."));
  rows.push_back(Row("unet.dim", Type::Integer, "U-Net width (dim)").at(unet, &U::dim).range(1, 4096).required()
                     .table1("unet emb dim").unit("channels").editable().unet_member(&UNetConfig::dim)
                     .help("Channels of the U-Net's first level; deeper levels multiply it. Parameters grow roughly "
                           "with its square."));
  rows.push_back(Row("unet.dim_mults", Type::IntegerList, "Width multipliers").at(unet, &U::dim_mults).range(1, 64)
                     .required().unet_member(&UNetConfig::dim_mults)
                     .help("One entry per level, highest resolution first: level i has dim × dim_mults[i] channels."));
  rows.push_back(Row("unet.res_blocks", Type::Integer, "Residual blocks per level").at(unet, &U::res_blocks).range(1, 16)
                     .required().editable().unet_member(&UNetConfig::res_blocks)
                     .help("Residual blocks (GroupNorm, SiLU, 3×3 convolutions, time embedding as scale and shift) at "
                           "each resolution."));
  rows.push_back(Row("unet.self_attention", Type::BooleanList, "Self-attention").at(unet, &U::self_attention).required()
                     .unet_member(&UNetConfig::self_attention)
                     .help("Per level: self-attention after each block (Imagen attends at the lower resolutions)."));
  rows.push_back(Row("unet.cross_attention", Type::BooleanList, "Cross-attention").at(unet, &U::cross_attention).required()
                     .unet_member(&UNetConfig::cross_attention)
                     .help("Per level: cross-attention over the whole text-embedding sequence after each block."));
  rows.push_back(Row("unet.middle_attention", Type::Boolean, "Middle attention").at(unet, &U::middle_attention)
                     .fallback(true).unet_member(&UNetConfig::middle_attention)
                     .help("Self- and cross-attention in the middle block."));
  rows.push_back(Row("unet.heads", Type::Integer, "Attention heads").at(unet, &U::heads).range(1, 128).required()
                     .editable().unet_member(&UNetConfig::heads).help("Heads of the self- and cross-attention layers."));
  rows.push_back(Row("unet.head_dim", Type::Integer, "Head width").at(unet, &U::head_dim).range(1, 1024).required()
                     .unit("channels").editable().unet_member(&UNetConfig::head_dim).help("Channels per attention head."));
  rows.push_back(Row("unet.cond_dim", Type::Integer, "Text condition width").at(unet, &U::cond_dim).range(1, 8192).required()
                     .table1("unet hidden size").unit("channels").editable().unet_member(&UNetConfig::cond_dim)
                     .help("Width the text embeddings are projected to before cross-attention and pooling into the "
                           "time embedding."));
  rows.push_back(Row("unet.text_embed_dim", Type::Integer, "Text embedding width").at(unet, &U::text_embed_dim)
                     .range(1, 8192).required().unit("channels")
                     .help("Width of the text encoder's output the U-Net was sized for (768 for T5-base; the learned "
                           "encoder's width with a learned encoder)."));
  rows.push_back(Row("unet.time_dim_mult", Type::Integer, "Time embedding multiplier").at(unet, &U::time_dim_mult)
                     .range(1, 16).fallback(std::int64_t{4}).unet_member(&UNetConfig::time_dim_mult)
                     .help("Time embedding width = dim × this."));
  rows.push_back(Row("unet.dropout", Type::Number, "Dropout").at(unet, &U::dropout).range(0, 0.9).fallback(0.0)
                     .unet_member(&UNetConfig::dropout).help("Dropout inside the residual blocks."));
  rows.push_back(Row("unet.efficient", Type::Boolean, "Efficient U-Net").at(unet, &U::efficient).fallback(false)
                     .unet_member(&UNetConfig::efficient)
                     .help("Imagen's Efficient U-Net: downsample before the residual blocks of each level."));
  rows.push_back(Row("unet.skip_scale", Type::Boolean, "Skip scaling 1/√2").at(unet, &U::skip_scale).fallback(false)
                     .unet_member(&UNetConfig::skip_scale)
                     .help("Scale the skip connections by 1/√2 before the up path concatenates them (Efficient U-Net, "
                           "paper Appendix B.1)."));
  rows.push_back(Row("unet.level_res_blocks", Type::IntegerList, "Residual blocks by level").at(unet, &U::level_res_blocks)
                     .range(1, 16).fallback(std::vector<std::int64_t>{}).unet_member(&UNetConfig::level_res_blocks)
                     .help("Per level, highest resolution first: residual blocks there, overriding res_blocks (the "
                           "Efficient U-Net puts more at the low resolutions, paper Appendix B.1). Empty: res_blocks "
                           "at every level."));
  rows.push_back(Row("unet.low_res_size", Type::Integer, "Low-resolution input").at(unet, &U::low_res_size).range(0, 1024)
                     .fallback(std::int64_t{0}).unit("px").unet_member(&UNetConfig::low_res_size)
                     .help("0: a base model (text → image). Otherwise a super-resolution stage (paper §2.4): the side of "
                           "the images it enlarges to image_size (smaller, and dividing it), which it reads "
                           "upsampled, noise-augmented and concatenated with x_t."));

  using R = PresetTraining;
  const auto training = &Preset::training;
  rows.push_back(Row("training.learning_rate", Type::Number, "Learning rate").at(training, &R::learning_rate)
                     .range(0, 1, true).decimals(7).fallback(1e-4).editable()
                     .help("AdamW step size (the paper's code: 1e-4, betas 0.9 and 0.99)."));
  rows.push_back(Row("training.beta1", Type::Number, "Adam β1").at(training, &R::beta1).range(0, 0.999999).fallback(0.9)
                     .help("AdamW's first-moment decay."));
  rows.push_back(Row("training.beta2", Type::Number, "Adam β2").at(training, &R::beta2).range(0, 0.999999).fallback(0.99)
                     .help("AdamW's second-moment decay (the paper's code: 0.99)."));
  rows.push_back(Row("training.weight_decay", Type::Number, "Weight decay").at(training, &R::weight_decay).range(0, 1)
                     .fallback(0.0).help("AdamW's decoupled weight decay."));
  rows.push_back(Row("training.ema_decay", Type::Number, "EMA decay").at(training, &R::ema_decay).range(0, 0.999999)
                     .fallback(0.9999)
                     .help("Final decay of the exponential moving average of the weights used for sampling and "
                           "evaluation (ramped up from 0)."));
  rows.push_back(Row("training.p2_k", Type::Number, "P2 k").at(training, &R::p2_k).range(0, 1e6, true).fallback(1.0)
                     .help("P2 weighting w(t) = 1 / (k + SNR(t))^γ (Choi 2022; paper §5.5; the paper's code: k = 1)."));
  rows.push_back(Row("training.p2_gamma", Type::Number, "P2 γ").at(training, &R::p2_gamma).range(0, 10).fallback(0.5)
                     .help("P2 weighting exponent γ (the paper's code: 0.5; 0 is the uniform loss of Ho 2020)."));
  rows.push_back(Row("training.schedule", Type::Choice, "Noise schedule").at(training, &R::schedule)
                     .choices({"cosine", "linear"}).fallback(std::string("cosine"))
                     .help("The forward process's ᾱ_t: cosine (Nichol & Dhariwal 2021) or linear β (Ho 2020)."));
  rows.push_back(Row("training.objective", Type::Choice, "Objective").at(training, &R::objective)
                     .choices({"eps", "x0", "v"}).fallback(std::string("eps"))
                     .help("What the U-Net predicts: the noise ε (the paper's default), x_0, or v = α ε − σ x_0."));
  rows.push_back(Row("training.cond_drop_prob", Type::Number, "Text drop probability").at(training, &R::cond_drop_prob)
                     .range(0, 1).fallback(0.1)
                     .help("Probability of training with the text replaced by the learned null embedding, which "
                           "classifier-free guidance needs (paper §5.4: 0.1)."));
  rows.push_back(Row("training.warmup_steps", Type::Integer, "Warm-up").at(training, &R::warmup_steps).range(0, 100000000)
                     .nullable().fallback(std::int64_t{0}).unit("steps")
                     .help("Steps over which the learning rate rises linearly from 0 (null or 0: none)."));
  rows.push_back(Row("training.aug_max", Type::Number, "Max aug level").at(training, &R::aug_max).range(0, 1).decimals(3)
                     .fallback(0.999)
                     .help("Super-resolution stages: noise conditioning augmentation (paper §2.3) noises the upsampled "
                           "low-resolution input to x_aug = α_aug·x + σ_aug·ε with the stage's own schedule, at a "
                           "diffusion time aug ~ U[0, aug_max] per image, and aug is an input of the network "
                           "(imagen-pytorch: 0.999). Base models ignore it."));

  using E = PresetTextEncoder;
  const auto text = &Preset::text_encoder;
  rows.push_back(Row("text_encoder.kind", Type::Choice, "Text encoder").at(text, &E::kind).choices({"t5", "learned"})
                     .fallback(std::string("t5"))
                     .help("t5: a frozen pretrained T5 encoder (paper §5.2); learned: a small transformer trained "
                           "jointly with the U-Net (also the fallback without T5 weights)."));
  rows.push_back(Row("text_encoder.t5_model", Type::Text, "T5 model").at(text, &E::t5_model)
                     .fallback(std::string("t5-v1_1-base")).help("The T5 checkpoint the preset was sized for."));
  rows.push_back(Row("text_encoder.learned.layers", Type::Integer, "Learned encoder layers").at(text, &E::learned_layers)
                     .range(1, 48).fallback(std::int64_t{4}).help("Transformer layers of the learned text encoder."));
  rows.push_back(Row("text_encoder.learned.width", Type::Integer, "Learned encoder width").at(text, &E::learned_width)
                     .range(8, 8192).fallback(std::int64_t{256}).unit("channels")
                     .help("Width of the learned text encoder (divisible by its heads)."));
  rows.push_back(Row("text_encoder.learned.heads", Type::Integer, "Learned encoder heads").at(text, &E::learned_heads)
                     .range(1, 128).fallback(std::int64_t{4}).help("Attention heads of the learned text encoder."));
  rows.push_back(Row("text_encoder.learned.vocab_size", Type::Integer, "Learned encoder vocabulary")
                     .at(text, &E::learned_vocab_size).range(16, 1000000).fallback(std::int64_t{8000}).unit("tokens")
                     .help("SentencePiece vocabulary trained on the dataset's captions for the learned encoder."));
  return rows;
}

const std::vector<Row>& rows() {
  static const std::vector<Row> table = make_rows();
  return table;
}

io::JsonFormat preset_format() {
  // 1 → 2 changes nothing in the document: a 1.0 preset names every field, which 2.0 reads as is.
  return {"preset", {kPresetFormatMajor, kPresetFormatMinor}, {[](json&) {}}};
}

// A bound as people write it: 100 rather than 100.0, 1e-06 as the shortest exact text.
std::string number_text(double value) {
  if (std::abs(value) < 1e15 && value == std::floor(value)) return std::to_string(static_cast<long long>(value));
  return json(value).dump();
}

// Reads one preset document against a schema; every error names the file and the field.
class Reader {
public:
  Reader(std::string origin, const std::vector<PresetField>& schema) : origin_(std::move(origin)), schema_(schema) {}

  [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
    throw std::runtime_error(origin_ + ": " + (key.empty() ? "" : "field '" + key + "': ") + problem);
  }

  /// The value at a dotted path; nullptr when it (or an object on the way) is absent.
  const json* find(const json& document, const std::string& key) const {
    const json* node = &document;
    std::string::size_type start = 0;
    while (true) {
      const auto dot = key.find('.', start);
      const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (!node->is_object()) fail(key.substr(0, start == 0 ? 0 : start - 1), std::string("expected an object, got ") + io::describe_json(*node));
      const auto found = node->find(part);
      if (found == node->end()) return nullptr;
      node = &*found;
      if (dot == std::string::npos) return node;
      start = dot + 1;
    }
  }

  PresetValue value(const PresetField& field, const json& v) const {
    const std::string& key = field.key;
    if (v.is_null() && field.nullable) return std::holds_alternative<std::monostate>(field.fallback) ? PresetValue{} : field.fallback;
    switch (field.type) {
      case FieldType::Integer: return integer(key, field, v);
      case FieldType::Number: {
        if (!v.is_number()) fail(key, std::string("expected a number, got ") + io::describe_json(v));
        const double number = v.get<double>();
        if (!in_range(field, number)) fail(key, v.dump() + " is out of range " + field.allowed());
        return number;
      }
      case FieldType::Boolean:
        if (!v.is_boolean()) fail(key, std::string("expected true or false, got ") + io::describe_json(v));
        return v.get<bool>();
      case FieldType::Text:
      case FieldType::Choice: {
        if (!v.is_string()) fail(key, std::string("expected a string, got ") + io::describe_json(v));
        const auto text = v.get<std::string>();
        if (field.type == FieldType::Choice &&
            std::find(field.choices.begin(), field.choices.end(), text) == field.choices.end())
          fail(key, "\"" + text + "\" is not " + field.allowed());
        return text;
      }
      case FieldType::IntegerList: {
        if (!v.is_array()) fail(key, std::string("expected an array, got ") + io::describe_json(v));
        std::vector<std::int64_t> items;
        for (size_t i = 0; i < v.size(); ++i)
          items.push_back(std::get<std::int64_t>(integer(key + "[" + std::to_string(i) + "]", field, v[i])));
        return items;
      }
      case FieldType::BooleanList: {
        if (!v.is_array()) fail(key, std::string("expected an array, got ") + io::describe_json(v));
        std::vector<bool> items;
        for (size_t i = 0; i < v.size(); ++i) {
          if (!v[i].is_boolean())
            fail(key + "[" + std::to_string(i) + "]", std::string("expected true or false, got ") + io::describe_json(v[i]));
          items.push_back(v[i].get<bool>());
        }
        return items;
      }
    }
    fail(key, "has an unknown type in the schema");
  }

  /// Every key of `document` that is neither a field nor an object holding fields, as dotted paths.
  void unknown_keys(const json& object, const std::string& prefix, std::vector<std::string>& out) const {
    for (const auto& item : object.items()) {
      const std::string key = prefix.empty() ? item.key() : prefix + "." + item.key();
      const bool is_field = std::any_of(schema_.begin(), schema_.end(), [&](const PresetField& f) { return f.key == key; });
      if (is_field) continue;
      const bool is_group = std::any_of(schema_.begin(), schema_.end(),
                                        [&](const PresetField& f) { return f.key.rfind(key + ".", 0) == 0; });
      if (is_group && item.value().is_object()) unknown_keys(item.value(), key, out);
      else if (!is_group) out.push_back(key);
    }
  }

private:
  static bool in_range(const PresetField& field, double number) {
    return number >= field.min && number <= field.max && !(field.min_exclusive && number == field.min);
  }

  PresetValue integer(const std::string& key, const PresetField& field, const json& v) const {
    if (!v.is_number_integer()) fail(key, std::string("expected an integer, got ") + io::describe_json(v));
    const auto number = v.get<long long>();
    if (!in_range(field, static_cast<double>(number))) fail(key, std::to_string(number) + " is out of range " + field.allowed());
    return std::int64_t{number};
  }

  std::string origin_;
  const std::vector<PresetField>& schema_;
};

fs::path executable_dir() {
  std::error_code error;
  const auto exe = fs::read_symlink("/proc/self/exe", error);
  return error ? fs::path() : exe.parent_path();
}

} // namespace

std::string PresetField::allowed() const {
  switch (type) {
    case FieldType::Boolean:
    case FieldType::BooleanList: return "true or false";
    case FieldType::Text: return "text";
    case FieldType::Choice: {
      std::string text = "one of ";
      for (size_t i = 0; i < choices.size(); ++i) text += (i ? ", " : "") + choices[i];
      return text;
    }
    case FieldType::Integer:
    case FieldType::IntegerList:
      return "[" + std::to_string(static_cast<long long>(min)) + ", " + std::to_string(static_cast<long long>(max)) + "]";
    case FieldType::Number: break;
  }
  return (min_exclusive ? "(" : "[") + number_text(min) + ", " + number_text(max) + "]";
}

const std::vector<PresetField>& preset_schema() {
  static const std::vector<PresetField> fields = [] {
    std::vector<PresetField> out;
    for (const Row& row : rows()) out.push_back(row.field);
    return out;
  }();
  return fields;
}

const PresetField& preset_field(const std::string& key) {
  for (const PresetField& field : preset_schema())
    if (field.key == key) return field;
  throw std::out_of_range("no preset field '" + key + "'");
}

std::string preset_value_text(const PresetValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::monostate>) return "null";
        else return json(v).dump();
      },
      value);
}

PresetReading read_preset(const std::string& json_text, const std::string& origin, const std::vector<PresetField>& schema) {
  json document;
  try {
    document = json::parse(json_text);
  } catch (const json::parse_error& e) {
    throw std::runtime_error(origin + ": not valid JSON: " + e.what());
  }
  if (!document.is_object()) throw std::runtime_error(origin + ": expected an object, got " + io::describe_json(document));
  const io::VersionCheck version = io::upgrade_document(preset_format(), document, origin);

  Reader reader(origin, schema);
  PresetReading reading;
  Preset& p = reading.preset;
  for (const PresetField& field : schema) {
    const json* found = reader.find(document, field.key);
    if (found == nullptr && field.required) reader.fail(field.key, "missing (allowed: " + field.allowed() + ")");
    field.set(p, found != nullptr ? reader.value(field, *found) : field.fallback);
  }
  std::vector<std::string> unknown;
  reader.unknown_keys(document, "", unknown);
  // A file of this version (or older) names only fields this build knows, so an unknown one is a
  // misspelling; a newer minor version adds optional fields, which are skipped.
  if (!unknown.empty() && !version.newer_minor) reader.fail(unknown.front(), "unknown key");
  for (const auto& key : unknown) {
    reading.warnings.push_back(origin + ": field '" + key + "': unknown key, ignored (the file is preset format " +
                               version.declared.text() + ", newer than this build's " +
                               io::FormatVersion{kPresetFormatMajor, kPresetFormatMinor}.text() + ")");
    log::core()->warn("{}", reading.warnings.back());
  }

  if (p.name.empty()) reader.fail("name", "must not be empty");
  if (p.unet.dim_mults.empty()) reader.fail("unet.dim_mults", "must name at least one level");
  if (p.max_batch_size > p.batch_size)
    reader.fail("max_batch_size", std::to_string(p.max_batch_size) + " must not exceed batch_size (" +
                                      std::to_string(p.batch_size) + ")");
  if (p.text_encoder.learned_width % p.text_encoder.learned_heads != 0)
    reader.fail("text_encoder.learned.width", "must be divisible by text_encoder.learned.heads");
  if (p.text_encoder.kind == "learned" && p.unet.text_embed_dim != p.text_encoder.learned_width)
    reader.fail("unet.text_embed_dim", "must equal text_encoder.learned.width (" +
                                           std::to_string(p.text_encoder.learned_width) + ") with a learned encoder");
  try {
    unet_config(p).validate();
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(origin + ": field 'unet': " + e.what());
  }
  return reading;
}

Preset load_preset(const std::string& path) {
  Preset preset = parse_preset(io::read_text_file(path, "the preset file"), path);
  preset.path = path;
  return preset;
}

Preset parse_preset(const std::string& json_text, const std::string& origin) { return read_preset(json_text, origin).preset; }

std::string preset_to_json(const Preset& p) {
  using ordered = nlohmann::ordered_json;  // the schema's field order, not alphabetical
  ordered document = ordered::object();
  document["format_version"] = io::FormatVersion{kPresetFormatMajor, kPresetFormatMinor}.text();
  for (const PresetField& field : preset_schema()) {
    ordered* node = &document;
    std::string::size_type start = 0;
    for (auto dot = field.key.find('.'); dot != std::string::npos; start = dot + 1, dot = field.key.find('.', start))
      node = &(*node)[field.key.substr(start, dot - start)];
    (*node)[field.key.substr(start)] = ordered::parse(preset_value_text(field.get(p)));
  }
  return document.dump(2) + "\n";
}

std::string preset_schema_markdown() {
  const auto cell = [](std::string text) {
    for (std::string::size_type at = 0; (at = text.find('|', at)) != std::string::npos; at += 2) text.replace(at, 1, "\\|");
    return text;
  };
  static const char* kTypes[] = {"integer", "number", "boolean", "text", "choice", "integer list", "boolean list"};
  std::string out = "Preset format " + io::FormatVersion{kPresetFormatMajor, kPresetFormatMinor}.text() +
                    " (the file's \"format_version\"). Required fields must be present; the others take the "
                    "default shown. null is allowed only where the default column says so.\n\n"
                    "| field | type | required | default | allowed | unit | Table 1 column | meaning |\n"
                    "|---|---|---|---|---|---|---|---|\n";
  for (const PresetField& f : preset_schema()) {
    const std::string fallback = f.required ? "–" : preset_value_text(f.fallback) + (f.nullable ? " (null allowed)" : "");
    out += "| `" + f.key + "` | " + kTypes[static_cast<int>(f.type)] + " | " + (f.required ? "yes" : "no") + " | " +
           cell(fallback) + " | " + cell(f.allowed()) + " | " + f.unit + " | " + f.table1 + " | " + cell(f.help) + " |\n";
  }
  return out;
}

std::vector<std::string> preset_dirs() {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("T2I_PRESETS_DIR"); env != nullptr && *env != '\0') candidates.emplace_back(env);
  if (const auto exe = executable_dir(); !exe.empty()) candidates.push_back(exe / ".." / "share" / "t2i-studio" / "presets");
  candidates.emplace_back(T2I_SOURCE_PRESETS_DIR);
  std::vector<std::string> dirs;
  for (const auto& dir : candidates) {
    std::error_code error;
    if (fs::is_directory(dir, error)) dirs.push_back(fs::weakly_canonical(dir, error).string());
  }
  return dirs;
}

Preset find_preset(const std::string& name) {
  if (name.find('/') != std::string::npos || fs::path(name).extension() == ".json") return load_preset(name);
  std::string searched;
  for (const auto& dir : preset_dirs()) {
    const auto file = fs::path(dir) / (name + ".json");
    std::error_code error;
    if (fs::is_regular_file(file, error)) return load_preset(file.string());
    searched += (searched.empty() ? "" : ", ") + dir;
  }
  throw std::runtime_error("preset \"" + name + "\" not found (searched: " + (searched.empty() ? "no preset folder" : searched) +
                           "; set T2I_PRESETS_DIR)");
}

std::vector<std::string> list_presets() {
  std::set<std::string> names;
  for (const auto& dir : preset_dirs()) {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(dir, error))
      if (entry.path().extension() == ".json") names.insert(entry.path().stem().string());
  }
  return {names.begin(), names.end()};
}

UNetConfig unet_config(const Preset& preset) { return unet_config(preset, preset.unet.text_embed_dim); }

UNetConfig unet_config(const Preset& preset, int64_t text_embed_dim) {
  UNetConfig config;
  for (const Row& row : rows())
    if (row.unet) row.unet(config, row.field.get(preset));
  config.text_embed_dim = text_embed_dim;
  return config;
}

} // namespace t2i::model
