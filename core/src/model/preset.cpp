#include "t2i/preset.h"

#include "model/preset_config.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace t2i::model {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// One JSON object of a preset file being read: every getter checks presence, type and range,
// and finish() rejects the keys nobody asked for (a misspelt key must not pass silently).
class Fields {
public:
  Fields(const json& object, std::string file, std::string prefix)
      : object_(object), file_(std::move(file)), prefix_(std::move(prefix)) {
    if (!object_.is_object()) fail("", std::string("expected an object, got ") + object_.type_name());
  }

  int integer(const std::string& key, int min, int max) {
    const json& value = get(key);
    if (!value.is_number_integer()) fail(key, std::string("expected an integer, got ") + describe(value));
    const auto number = value.get<long long>();
    if (number < min || number > max)
      fail(key, std::to_string(number) + " is out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    return static_cast<int>(number);
  }

  std::optional<int> optional_integer(const std::string& key, int min, int max) {
    if (get(key).is_null()) return std::nullopt;
    return integer(key, min, max);
  }

  /// A number in [min, max], or in (min, max] when `min_exclusive`.
  double number(const std::string& key, double min, double max, bool min_exclusive = false) {
    const json& value = get(key);
    if (!value.is_number()) fail(key, std::string("expected a number, got ") + describe(value));
    const double number = value.get<double>();
    if (number < min || number > max || (min_exclusive && number == min))
      fail(key, value.dump() + " is out of range " + (min_exclusive ? "(" : "[") + json(min).dump() + ", " +
                    json(max).dump() + "]");
    return number;
  }

  std::optional<double> optional_number(const std::string& key, double min, double max, bool min_exclusive = false) {
    if (get(key).is_null()) return std::nullopt;
    return number(key, min, max, min_exclusive);
  }

  bool boolean(const std::string& key) {
    const json& value = get(key);
    if (!value.is_boolean()) fail(key, std::string("expected true or false, got ") + describe(value));
    return value.get<bool>();
  }

  std::string string(const std::string& key, const std::vector<std::string>& allowed = {}) {
    const json& value = get(key);
    if (!value.is_string()) fail(key, std::string("expected a string, got ") + describe(value));
    auto text = value.get<std::string>();
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), text) == allowed.end()) {
      std::string choices;
      for (const auto& choice : allowed) choices += (choices.empty() ? "" : ", ") + choice;
      fail(key, "\"" + text + "\" is not one of " + choices);
    }
    return text;
  }

  std::vector<int> integers(const std::string& key, int min, int max) {
    const json& value = array(key);
    std::vector<int> out;
    for (size_t i = 0; i < value.size(); ++i) {
      const auto& item = value[i];
      const auto where = key + "[" + std::to_string(i) + "]";
      if (!item.is_number_integer()) fail(where, std::string("expected an integer, got ") + describe(item));
      const auto number = item.get<long long>();
      if (number < min || number > max)
        fail(where, std::to_string(number) + " is out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
      out.push_back(static_cast<int>(number));
    }
    return out;
  }

  std::vector<bool> booleans(const std::string& key) {
    const json& value = array(key);
    std::vector<bool> out;
    for (size_t i = 0; i < value.size(); ++i) {
      if (!value[i].is_boolean())
        fail(key + "[" + std::to_string(i) + "]", std::string("expected true or false, got ") + describe(value[i]));
      out.push_back(value[i].get<bool>());
    }
    return out;
  }

  Fields object(const std::string& key) { return Fields(get(key), file_, path(key)); }

  void finish() const {
    for (const auto& item : object_.items())
      if (read_.count(item.key()) == 0) fail(item.key(), "unknown key");
  }

  [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
    const auto field = path(key);
    throw std::runtime_error(file_ + ": " + (field.empty() ? "" : "field '" + field + "': ") + problem);
  }

private:
  const json& get(const std::string& key) {
    const auto found = object_.find(key);
    if (found == object_.end()) fail(key, "missing");
    read_.insert(key);
    return *found;
  }

  const json& array(const std::string& key) {
    const json& value = get(key);
    if (!value.is_array()) fail(key, std::string("expected an array, got ") + describe(value));
    return value;
  }

  static std::string describe(const json& value) {
    const auto text = value.dump();
    return std::string(value.type_name()) + " " + (text.size() > 40 ? text.substr(0, 40) + "…" : text);
  }

  std::string path(const std::string& key) const {
    if (key.empty()) return prefix_;
    return prefix_.empty() ? key : prefix_ + "." + key;
  }

  const json& object_;
  std::string file_;
  std::string prefix_;
  std::set<std::string> read_;
};

PresetUNet read_unet(Fields fields) {
  PresetUNet u;
  u.image_size = fields.integer("image_size", 8, 1024);
  u.channels = fields.integer("channels", 1, 16);
  u.dim = fields.integer("dim", 1, 4096);
  u.dim_mults = fields.integers("dim_mults", 1, 64);
  u.res_blocks = fields.integer("res_blocks", 1, 16);
  u.self_attention = fields.booleans("self_attention");
  u.cross_attention = fields.booleans("cross_attention");
  u.middle_attention = fields.boolean("middle_attention");
  u.heads = fields.integer("heads", 1, 128);
  u.head_dim = fields.integer("head_dim", 1, 1024);
  u.cond_dim = fields.integer("cond_dim", 1, 8192);
  u.text_embed_dim = fields.integer("text_embed_dim", 1, 8192);
  u.time_dim_mult = fields.integer("time_dim_mult", 1, 16);
  u.dropout = fields.number("dropout", 0.0, 0.9);
  u.efficient = fields.boolean("efficient");
  if (u.dim_mults.empty()) fields.fail("dim_mults", "must name at least one level");
  fields.finish();
  return u;
}

PresetTraining read_training(Fields fields) {
  PresetTraining t;
  t.learning_rate = fields.number("learning_rate", 0.0, 1.0, true);
  t.beta1 = fields.number("beta1", 0.0, 0.999999);
  t.beta2 = fields.number("beta2", 0.0, 0.999999);
  t.weight_decay = fields.number("weight_decay", 0.0, 1.0);
  t.ema_decay = fields.number("ema_decay", 0.0, 0.999999);
  t.p2_k = fields.number("p2_k", 0.0, 1e6, true);
  t.p2_gamma = fields.number("p2_gamma", 0.0, 10.0);
  t.schedule = fields.string("schedule", {"cosine", "linear"});
  t.objective = fields.string("objective", {"eps", "x0", "v"});
  t.cond_drop_prob = fields.number("cond_drop_prob", 0.0, 1.0);
  t.warmup_steps = fields.optional_integer("warmup_steps", 0, 100000000).value_or(0);
  fields.finish();
  return t;
}

PresetTextEncoder read_text_encoder(Fields fields) {
  PresetTextEncoder e;
  e.kind = fields.string("kind", {"t5", "learned"});
  e.t5_model = fields.string("t5_model");
  Fields learned = fields.object("learned");
  e.learned_layers = learned.integer("layers", 1, 48);
  e.learned_width = learned.integer("width", 8, 8192);
  e.learned_heads = learned.integer("heads", 1, 128);
  e.learned_vocab_size = learned.integer("vocab_size", 16, 1000000);
  if (e.learned_width % e.learned_heads != 0) learned.fail("width", "must be divisible by heads");
  learned.finish();
  fields.finish();
  return e;
}

fs::path executable_dir() {
  std::error_code error;
  const auto exe = fs::read_symlink("/proc/self/exe", error);
  return error ? fs::path() : exe.parent_path();
}

} // namespace

Preset load_preset(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open the preset file");
  std::stringstream text;
  text << in.rdbuf();
  Preset preset = parse_preset(text.str(), path);
  preset.path = path;
  return preset;
}

Preset parse_preset(const std::string& json_text, const std::string& origin) {
  json document;
  try {
    document = json::parse(json_text);
  } catch (const json::parse_error& e) {
    throw std::runtime_error(origin + ": not valid JSON: " + e.what());
  }

  Fields fields(document, origin, "");
  Preset p;
  p.name = fields.string("name");
  p.description = fields.string("description");
  p.batch_size = fields.integer("batch_size", 1, 1 << 20);
  p.max_batch_size = fields.integer("max_batch_size", 1, 1 << 20);
  p.max_text_length = fields.integer("max_text_length", 1, 4096);
  p.diffusion_steps = fields.integer("diffusion_steps", 1, 100000);
  p.unet_emb_dim = fields.optional_integer("unet_emb_dim", 1, 1 << 20);
  p.unet_hidden_size = fields.optional_integer("unet_hidden_size", 1, 1 << 20);
  p.eval_every = fields.integer("eval_every", 1, 1 << 30);
  p.eval_val_steps = fields.integer("eval_val_steps", 1, 1 << 30);
  p.cond_scale = fields.number("cond_scale", 0.0, 100.0);
  p.early_stop = fields.optional_integer("early_stop", 1, 1 << 30);
  p.paper_parameters = fields.optional_number("paper_parameters", 0.0, 1e12, true);
  p.unet = read_unet(fields.object("unet"));
  p.training = read_training(fields.object("training"));
  p.text_encoder = read_text_encoder(fields.object("text_encoder"));
  fields.finish();

  if (p.name.empty()) fields.fail("name", "must not be empty");
  if (p.max_batch_size > p.batch_size) fields.fail("max_batch_size", "must not exceed batch_size");
  if (p.text_encoder.kind == "learned" && p.unet.text_embed_dim != p.text_encoder.learned_width)
    fields.fail("unet.text_embed_dim", "must equal text_encoder.learned.width (" +
                                           std::to_string(p.text_encoder.learned_width) + ") with a learned encoder");
  try {
    unet_config(p).validate();
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(origin + ": field 'unet': " + e.what());
  }
  return p;
}

std::string preset_to_json(const Preset& p) {
  using ordered = nlohmann::ordered_json;  // the file's field order, not alphabetical
  const auto optional = [](const auto& value) { return value ? ordered(*value) : ordered(nullptr); };
  const auto& u = p.unet;
  const auto& t = p.training;
  const auto& e = p.text_encoder;
  const ordered document = {
      {"name", p.name},
      {"description", p.description},
      {"batch_size", p.batch_size},
      {"max_batch_size", p.max_batch_size},
      {"max_text_length", p.max_text_length},
      {"diffusion_steps", p.diffusion_steps},
      {"unet_emb_dim", optional(p.unet_emb_dim)},
      {"unet_hidden_size", optional(p.unet_hidden_size)},
      {"eval_every", p.eval_every},
      {"eval_val_steps", p.eval_val_steps},
      {"cond_scale", p.cond_scale},
      {"early_stop", optional(p.early_stop)},
      {"paper_parameters", optional(p.paper_parameters)},
      {"unet",
       {{"image_size", u.image_size}, {"channels", u.channels}, {"dim", u.dim}, {"dim_mults", u.dim_mults},
        {"res_blocks", u.res_blocks}, {"self_attention", u.self_attention}, {"cross_attention", u.cross_attention},
        {"middle_attention", u.middle_attention}, {"heads", u.heads}, {"head_dim", u.head_dim},
        {"cond_dim", u.cond_dim}, {"text_embed_dim", u.text_embed_dim}, {"time_dim_mult", u.time_dim_mult},
        {"dropout", u.dropout}, {"efficient", u.efficient}}},
      {"training",
       {{"learning_rate", t.learning_rate}, {"beta1", t.beta1}, {"beta2", t.beta2}, {"weight_decay", t.weight_decay},
        {"ema_decay", t.ema_decay}, {"p2_k", t.p2_k}, {"p2_gamma", t.p2_gamma}, {"schedule", t.schedule},
        {"objective", t.objective}, {"cond_drop_prob", t.cond_drop_prob}, {"warmup_steps", t.warmup_steps}}},
      {"text_encoder",
       {{"kind", e.kind},
        {"t5_model", e.t5_model},
        {"learned",
         {{"layers", e.learned_layers}, {"width", e.learned_width}, {"heads", e.learned_heads},
          {"vocab_size", e.learned_vocab_size}}}}}};
  return document.dump(2) + "\n";
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
  const auto& u = preset.unet;
  UNetConfig c;
  c.image_size = u.image_size;
  c.channels = u.channels;
  c.dim = u.dim;
  c.dim_mults.assign(u.dim_mults.begin(), u.dim_mults.end());
  c.res_blocks = u.res_blocks;
  c.self_attention = u.self_attention;
  c.cross_attention = u.cross_attention;
  c.middle_attention = u.middle_attention;
  c.heads = u.heads;
  c.head_dim = u.head_dim;
  c.cond_dim = u.cond_dim;
  c.text_embed_dim = text_embed_dim;
  c.time_dim_mult = u.time_dim_mult;
  c.dropout = u.dropout;
  c.efficient = u.efficient;
  return c;
}

} // namespace t2i::model
