// The model a user chooses, as the UI and the CLI see it (namespace and folder: model):
// - Presets: a model size and its training recipe as data (presets/*.json). small/base/large/full
//   reproduce Table 1 of the paper; demo is a 32×32 model for a laptop CPU; sr-demo (32→64) and
//   sr256 (64→256) are super-resolution stages of a cascade (paper §2.4).
// - The preset format as one table: every field's name, type, default, range, unit, meaning (in
//   the paper's terms) and the Table 1 column it reproduces. The loader, the validator, the JSON
//   writer, the U-Net configuration, `t2i presets schema` and the studio's preset editor are all
//   generated from it; no other place lists the fields.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace t2i::model {

/// The U-Net's architecture (see core/src/model/unet_config.h for the meaning of each field).
struct PresetUNet {
  int image_size = 64;
  int channels = 3;
  int dim = 32;
  std::vector<int> dim_mults;
  int res_blocks = 2;
  std::vector<bool> self_attention;   ///< per level
  std::vector<bool> cross_attention;  ///< per level
  bool middle_attention = true;
  int heads = 4;
  int head_dim = 32;
  int cond_dim = 128;
  int text_embed_dim = 768;  ///< the text encoder's output width the U-Net was sized for
  int time_dim_mult = 4;
  double dropout = 0.0;
  bool efficient = false;
  bool skip_scale = false;
  std::vector<int> level_res_blocks;  ///< per level; empty: res_blocks at every level
  int low_res_size = 0;               ///< a super-resolution stage's input side; 0: a base model
};

struct PresetTraining {
  double learning_rate = 1e-4;  ///< Adam(W), paper's code
  double beta1 = 0.9;
  double beta2 = 0.99;
  double weight_decay = 0.0;
  double ema_decay = 0.9999;    ///< the EMA's final decay
  double p2_k = 1.0;            ///< P2 weighting 1 / (k + SNR)^γ (Choi 2022)
  double p2_gamma = 0.5;
  std::string schedule = "cosine";   ///< "cosine" or "linear"
  std::string objective = "eps";     ///< "eps", "x0" or "v"
  double cond_drop_prob = 0.1;  ///< probability of training with the text dropped (CFG)
  int warmup_steps = 0;         ///< steps over which the learning rate rises linearly from 0 (optional)
  double aug_max = 0.999;       ///< super-resolution stages: aug ~ U[0, aug_max] in training (diffusion time)
};

struct PresetTextEncoder {
  std::string kind = "t5";           ///< "t5" (frozen, pretrained) or "learned" (trained jointly)
  std::string t5_model = "t5-v1_1-base";
  int learned_layers = 4;            ///< the learned encoder, also the fallback without T5 weights
  int learned_width = 256;
  int learned_heads = 4;
  int learned_vocab_size = 8000;
};

struct Preset {
  std::string name;
  std::string description;
  std::string path;  ///< the file it was loaded from

  // Table 1 of the paper, column by column ("–" there is an empty optional here).
  int batch_size = 32;            ///< "batch size": samples per optimiser step
  int max_batch_size = 4;         ///< "max batch size": the micro-batch (gradient accumulation)
  int max_text_length = 64;       ///< "max lenght": text tokens
  int diffusion_steps = 500;      ///< "diffusion steps": T
  std::optional<int> unet_emb_dim;      ///< "unet emb dim" as reported
  std::optional<int> unet_hidden_size;  ///< "unet hidden size" as reported
  int eval_every = 100;           ///< "eval every epochs" (steps between evaluations)
  int eval_val_steps = 100;       ///< "eval val steps": validation batches per evaluation
  double cond_scale = 5.0;        ///< "cond scale": classifier-free guidance weight w
  double sample_aug = 0.2;        ///< super-resolution stages: the augmentation level they sample at
  std::optional<int> early_stop;  ///< "early stops": steps without a better validation loss before stopping
  std::optional<double> paper_parameters;  ///< "total parameters" as reported

  PresetUNet unet;
  PresetTraining training;
  PresetTextEncoder text_encoder;

  bool super_resolution() const { return unet.low_res_size > 0; }
};

/// Loads and validates a preset file. Throws std::runtime_error naming the file and the field
/// (missing, wrong type, out of range, unknown).
Preset load_preset(const std::string& path);

/// Validates a preset given as JSON text (e.g. the copy a checkpoint stores); `origin` names it in
/// errors. The result's `path` is empty.
Preset parse_preset(const std::string& json_text, const std::string& origin);

/// The preset as JSON text in the file format (an edited preset to save or to store in a run);
/// parse_preset() reads it back unchanged. `path` is not part of it.
std::string preset_to_json(const Preset& preset);

/// The folders searched for presets, in order: $T2I_PRESETS_DIR, <executable>/../share/t2i-studio/presets,
/// then the source tree's presets/ folder. Only existing folders are listed.
std::vector<std::string> preset_dirs();

/// Loads the preset called `name` (e.g. "small") from the first folder that has <name>.json; a
/// name ending in ".json" or containing '/' is taken as a path.
Preset find_preset(const std::string& name);

/// Names of the presets found in preset_dirs(), sorted, each once.
std::vector<std::string> list_presets();


/// The preset format this build writes. Files without "format_version" are 1.0 (t2i-studio
/// 0.1.0: every field present, optional ones as null); 2.0 made fields optional with defaults;
/// 2.1 added the super-resolution fields (unet.low_res_size, unet.skip_scale,
/// unet.level_res_blocks, sample_aug, training.aug_max), whose defaults are 2.0's base models.
/// A newer minor version only adds optional fields, which this build ignores with a warning.
inline constexpr int kPresetFormatMajor = 2;
inline constexpr int kPresetFormatMinor = 1;

/// A field's value; std::monostate is null (an optional Table 1 entry left empty, "–").
using PresetValue = std::variant<std::monostate, bool, std::int64_t, double, std::string, std::vector<std::int64_t>,
                                 std::vector<bool>>;

enum class FieldType { Integer, Number, Boolean, Text, Choice, IntegerList, BooleanList };

struct PresetField {
  std::string key;                  ///< dotted path in the file: "unet.dim", "text_encoder.learned.heads"
  FieldType type = FieldType::Integer;
  std::string label;                ///< a short name for forms
  std::string help;                 ///< what it means, in the paper's terms
  std::string table1;               ///< the Table 1 column it reproduces; empty when none
  std::string unit;                 ///< empty when none
  bool required = false;            ///< must be in the file; otherwise `fallback` applies
  bool nullable = false;            ///< null is allowed (and means "none")
  double min = 0;                   ///< the allowed range of a number, or of each list item
  double max = 0;
  bool min_exclusive = false;       ///< (min, max] instead of [min, max]
  int decimals = 4;                 ///< digits after the point a form shows for a Number
  std::vector<std::string> choices; ///< the allowed texts of a Choice
  PresetValue fallback;             ///< the value of an optional field the file leaves out
  bool editable = false;            ///< shown in the studio's preset editor
  std::function<PresetValue(const Preset&)> get;
  std::function<void(Preset&, const PresetValue&)> set;

  /// The allowed values as the error messages and the schema table write them:
  /// "[1, 128]", "(0, 1]", "one of cosine, linear", "true or false", "text".
  std::string allowed() const;
};

/// Every field of the format, in file order.
const std::vector<PresetField>& preset_schema();

/// The field called `key`; throws std::out_of_range when there is none.
const PresetField& preset_field(const std::string& key);

/// A field's value as JSON text ("null", "32", "[1, 2, 4]", "\"cosine\"").
std::string preset_value_text(const PresetValue& value);

/// A preset read from JSON text with what the reader noticed on the way.
struct PresetReading {
  Preset preset;
  std::vector<std::string> warnings;  ///< each names `origin` and the field (e.g. an unknown one)
};

/// Reads a preset in any released format version against `schema` (the real one, or a test's
/// extended copy). Errors name `origin`, the field and the allowed values; warnings are also
/// logged on the core's log. The result's `path` is empty.
PresetReading read_preset(const std::string& json_text, const std::string& origin,
                          const std::vector<PresetField>& schema = preset_schema());

/// The field table as Markdown (`t2i presets schema`).
std::string preset_schema_markdown();

} // namespace t2i::model
