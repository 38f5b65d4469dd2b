// The preset format as one table: every field's name, type, default, range, unit, meaning (in
// the paper's terms) and the Table 1 column it reproduces. The loader, the validator, the JSON
// writer, the U-Net configuration, `t2i presets schema` and the studio's preset editor are all
// generated from it; no other place lists the fields.
#pragma once

#include "t2i/preset.h"

#include <cstdint>
#include <functional>
#include <string>
#include <variant>
#include <vector>

namespace t2i::model {

/// The preset format this build writes. Files without "format_version" are 1.0 (t2i-studio
/// 0.1.0: every field present, optional ones as null); 2.0 made fields optional with defaults.
/// A newer minor version only adds optional fields, which this build ignores with a warning.
inline constexpr int kPresetFormatMajor = 2;
inline constexpr int kPresetFormatMinor = 0;

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
