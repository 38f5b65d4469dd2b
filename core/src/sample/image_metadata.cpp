// The text metadata of generated PNGs (t2i/sample.h): the one place that names its keys.
#include "t2i/sample.h"

#include "io/format_version.h"

#include <iomanip>
#include <locale>
#include <sstream>
#include <stdexcept>
#include <type_traits>

namespace t2i::sample {

namespace {

// The text metadata's format. 1.0 is t2i-studio 0.1.0's keys, without version keys; 1.1 added
// only "format_version" and "written_by"; 1.2 the optional inspection keys; 1.3 the optional
// cascade keys (every stage of a cascade's image, the base keys unchanged); 1.4 the optional keys
// of a frozen trajectory's grid and of a word swap. The grid keys are
// optional and were already in 0.1.0's Compare exports. A later major version that renames or
// redefines a key adds the step that upgrades the one before it.
const io::JsonFormat& metadata_format() {
  static const io::JsonFormat format{"image metadata", {1, 4}, {}};
  return format;
}

// What marks a PNG's text as t2i-studio's (every version writes it): the text of PNGs other
// programs wrote is not read as this format.
constexpr const char* kSoftwareKey = "software";
constexpr const char* kSoftware = "t2i-studio";

constexpr const char* kPrompt = "prompt";
constexpr const char* kSeed = "seed";
constexpr const char* kGuidance = "cfg";
constexpr const char* kSteps = "steps";
constexpr const char* kSampler = "sampler";
constexpr const char* kEta = "eta";
constexpr const char* kThresholding = "thresholding";
constexpr const char* kPercentile = "threshold_percentile";
constexpr const char* kCheckpoint = "checkpoint";
constexpr const char* kCheckpointHash = "checkpoint_hash";
constexpr const char* kCheckpointStep = "checkpoint_step";
constexpr const char* kPreset = "preset";
constexpr const char* kGridSeeds = "seeds";
constexpr const char* kGridGuidance = "guidance scales";
constexpr const char* kGridCheckpoints = "checkpoints";
constexpr const char* kGridSteps = "steps shown";
constexpr const char* kSwapFrom = "swap_from";
constexpr const char* kSwapTo = "swap_to";
constexpr const char* kInjectAttention = "inject_attention";
// The inspection keys (ImageInspection): written only when the image was saved with them.
constexpr const char* kLookInside = "look_inside";
constexpr const char* kFreezeNoise = "freeze_noise";
constexpr const char* kAttentionWords = "attention_words";
constexpr const char* kAttentionWord = "attention_word";
constexpr const char* kAttentionStep = "attention_step";
constexpr const char* kAttentionResolution = "attention_resolution";
constexpr const char* kAttentionLayer = "attention_layer";
constexpr const char* kAttentionHead = "attention_head";
constexpr const char* kAttentionHalf = "attention_half";
constexpr const char* kAttentionNormalisation = "attention_normalisation";
constexpr const char* kAttentionOpacity = "attention_opacity";
// The cascade keys (StageMetadata): how many stages, then each stage's fields under a prefix
// "stage<i>_", the base stage 0.
constexpr const char* kCascadeFile = "cascade_file";
constexpr const char* kCascadeStages = "cascade_stages";
constexpr const char* kStageSize = "size";
constexpr const char* kStageLowResSize = "low_res_size";
constexpr const char* kStageAug = "aug";
// The most stages a reader takes from a PNG's text (Imagen's cascade has three).
constexpr int kMaxStages = 16;
// The value of an attention filter that selects everything (an absent std::optional).
constexpr const char* kEvery = "all";
// How ImageInspection's choices are spelled, in enum order.
const std::vector<std::string> kWordsNames{"none", "one", "all"};
const std::vector<std::string> kHalfNames{"unconditional", "conditional"};
const std::vector<std::string> kNormalisationNames{"global", "per word"};
const std::vector<std::string> kSwitchNames{"off", "on"};
// How the grid keys separate their items ("0, 1"; "w = 5; w = 8"; one checkpoint path a line)
// and label a guidance scale, as 0.1.0's Compare export did for people reading the PNG.
constexpr const char* kSeedSeparator = ", ";
constexpr const char* kGuidanceSeparator = "; ";
constexpr const char* kGuidanceLabel = "w = ";
constexpr char kCheckpointSeparator = '\n';

// printf's "%g" and "%f" (what 0.1.0 wrote) in the C locale, whatever locale the GUI set.
std::string general(double value) {
  std::ostringstream out;
  out.imbue(std::locale::classic());
  out << value;
  return out.str();
}

std::string fixed(double value) {
  std::ostringstream out;
  out.imbue(std::locale::classic());
  out << std::fixed << std::setprecision(6) << value;
  return out.str();
}

// The whole of `text` (spaces around it allowed) as a number in the C locale.
template <typename Number>
std::optional<Number> parse(const std::string& text) {
  std::istringstream in(text);
  in.imbue(std::locale::classic());
  in >> std::ws;
  // A stream reads "-1" as an unsigned number by wrapping it round.
  if (std::is_unsigned<Number>::value && in.peek() == '-') return std::nullopt;
  Number value{};
  if (!(in >> value)) return std::nullopt;
  in >> std::ws;
  if (!in.eof()) return std::nullopt;
  return value;
}

std::vector<std::string> split(const std::string& text, const std::string& separator) {
  std::vector<std::string> items;
  for (std::size_t from = 0;;) {
    const std::size_t at = text.find(separator, from);
    items.push_back(text.substr(from, at - from));
    if (at == std::string::npos) return items;
    from = at + separator.size();
  }
}

template <typename Item, typename Format>
std::string join(const std::vector<Item>& items, const std::string& separator, Format format) {
  std::string text;
  for (std::size_t i = 0; i < items.size(); ++i) text += (i > 0 ? separator : "") + format(items[i]);
  return text;
}

const std::string* find(const std::map<std::string, std::string>& text, const char* key) {
  const auto found = text.find(key);
  return found == text.end() ? nullptr : &found->second;
}

// Sets `field` from `key` when the text holds a number there that `valid` accepts.
template <typename Number, typename Valid>
void read_number(const std::map<std::string, std::string>& text, const char* key, Number& field, Valid valid) {
  if (const std::string* value = find(text, key))
    if (const auto number = parse<Number>(*value); number && valid(*number)) field = *number;
}

void read_text(const std::map<std::string, std::string>& text, const char* key, std::string& field) {
  if (const std::string* value = find(text, key)) field = *value;
}

// Sets `field` from `key` when the text names a value `parse_kind` knows (a newer build's
// sampler keeps the default).
template <typename Kind>
void read_kind(const std::map<std::string, std::string>& text, const char* key, Kind& field,
               Kind (*parse_kind)(const std::string&)) {
  if (const std::string* value = find(text, key)) {
    try {
      field = parse_kind(*value);
    } catch (const std::runtime_error&) {
    }
  }
}

void write_grid(const ImageMetadata& m, std::map<std::string, std::string>& text) {
  if (!m.grid_seeds.empty())
    text[kGridSeeds] = join(m.grid_seeds, kSeedSeparator, [](std::uint64_t seed) { return std::to_string(seed); });
  if (!m.grid_guidance.empty())
    text[kGridGuidance] = join(m.grid_guidance, kGuidanceSeparator, [](double w) { return kGuidanceLabel + general(w); });
  if (!m.grid_checkpoints.empty())
    text[kGridCheckpoints] = join(m.grid_checkpoints, std::string(1, kCheckpointSeparator), [](const std::string& c) { return c; });
  if (!m.grid_steps.empty())
    text[kGridSteps] = join(m.grid_steps, kSeedSeparator, [](int step) { return std::to_string(step); });
  if (m.word_swap) {
    text[kSwapFrom] = m.word_swap->from;
    text[kSwapTo] = m.word_swap->to;
    text[kInjectAttention] = general(m.word_swap->inject);
  }
}

// The grid keys; a list with an unreadable item is left out whole rather than misread.
void read_grid(const std::map<std::string, std::string>& text, ImageMetadata& m) {
  if (const std::string* seeds = find(text, kGridSeeds)) {
    const std::vector<std::string> items = split(*seeds, kSeedSeparator);
    std::vector<std::uint64_t> read;
    for (const std::string& item : items)
      if (const auto seed = parse<std::uint64_t>(item)) read.push_back(*seed);
    if (read.size() == items.size()) m.grid_seeds = read;
  }
  if (const std::string* scales = find(text, kGridGuidance)) {
    const std::vector<std::string> items = split(*scales, kGuidanceSeparator);
    const std::string label = kGuidanceLabel;
    std::vector<double> read;
    for (const std::string& item : items)
      if (item.rfind(label, 0) == 0)
        if (const auto w = parse<double>(item.substr(label.size()))) read.push_back(*w);
    if (read.size() == items.size()) m.grid_guidance = read;
  }
  if (const std::string* checkpoints = find(text, kGridCheckpoints))
    m.grid_checkpoints = split(*checkpoints, std::string(1, kCheckpointSeparator));
  if (const std::string* steps = find(text, kGridSteps)) {
    const std::vector<std::string> items = split(*steps, kSeedSeparator);
    std::vector<int> read;
    for (const std::string& item : items)
      if (const auto step = parse<int>(item); step && *step >= 1) read.push_back(*step);
    if (read.size() == items.size()) m.grid_steps = read;
  }
  const std::string* from = find(text, kSwapFrom);
  const std::string* to = find(text, kSwapTo);
  if (from != nullptr && to != nullptr && !from->empty() && !to->empty()) {
    m.word_swap = WordSwap{*from, *to, 0.0};
    read_number(text, kInjectAttention, m.word_swap->inject, [](double f) { return f >= 0 && f <= 1; });
  }
}

std::string optional_number(const std::optional<int>& value) {
  return value ? std::to_string(*value) : std::string(kEvery);
}

void write_inspection(const ImageInspection& i, std::map<std::string, std::string>& text) {
  text[kLookInside] = kSwitchNames.at(i.look_inside);
  text[kFreezeNoise] = kSwitchNames.at(i.freeze_noise);
  text[kAttentionWords] = kWordsNames.at(static_cast<std::size_t>(i.words));
  if (i.words == ImageInspection::Words::One) text[kAttentionWord] = i.word;
  text[kAttentionStep] = optional_number(i.attention.step);
  text[kAttentionResolution] = optional_number(i.attention.resolution);
  text[kAttentionLayer] = optional_number(i.attention.layer);
  text[kAttentionHead] = optional_number(i.attention.head);
  text[kAttentionHalf] = kHalfNames.at(i.attention.conditional);
  text[kAttentionNormalisation] = kNormalisationNames.at(static_cast<std::size_t>(i.normalisation));
  text[kAttentionOpacity] = general(i.opacity);
}

// Sets `field` to the index of `key`'s value among `names`, when it is one of them.
template <typename Field>
void read_choice(const std::map<std::string, std::string>& text, const char* key,
                 const std::vector<std::string>& names, Field& field) {
  if (const std::string* value = find(text, key))
    for (std::size_t i = 0; i < names.size(); ++i)
      if (*value == names[i]) field = static_cast<Field>(i);
}

// An attention filter: "all", or a number `valid` accepts (anything else keeps the field).
template <typename Valid>
void read_filter(const std::map<std::string, std::string>& text, const char* key, std::optional<int>& field,
                 Valid valid) {
  if (const std::string* value = find(text, key)) {
    if (*value == kEvery) field.reset();
    else if (const auto number = parse<int>(*value); number && valid(*number)) field = *number;
  }
}

// The inspection keys, when the image has them ("look_inside" marks them); a value out of range or
// unknown keeps ImageInspection's default.
std::optional<ImageInspection> read_inspection(const std::map<std::string, std::string>& text) {
  if (find(text, kLookInside) == nullptr) return std::nullopt;
  ImageInspection i;
  read_choice(text, kLookInside, kSwitchNames, i.look_inside);
  read_choice(text, kFreezeNoise, kSwitchNames, i.freeze_noise);
  read_choice(text, kAttentionWords, kWordsNames, i.words);
  if (i.words == ImageInspection::Words::One) {
    read_text(text, kAttentionWord, i.word);
    if (i.word.empty()) i.words = ImageInspection::Words::None;
  }
  read_filter(text, kAttentionStep, i.attention.step, [](int step) { return step >= 1; });
  read_filter(text, kAttentionResolution, i.attention.resolution, [](int side) { return side >= 1; });
  read_filter(text, kAttentionLayer, i.attention.layer, [](int layer) { return layer >= 0; });
  read_filter(text, kAttentionHead, i.attention.head, [](int head) { return head >= 0; });
  read_choice(text, kAttentionHalf, kHalfNames, i.attention.conditional);
  read_choice(text, kAttentionNormalisation, kNormalisationNames, i.normalisation);
  read_number(text, kAttentionOpacity, i.opacity, [](double opacity) { return opacity >= 0 && opacity <= 1; });
  return i;
}

std::string stage_key(std::size_t stage, const char* field) { return "stage" + std::to_string(stage) + "_" + field; }

void write_cascade_keys(const ImageMetadata& m, std::map<std::string, std::string>& text) {
  text[kCascadeFile] = m.cascade_file;
  text[kCascadeStages] = std::to_string(m.cascade.size());
  for (std::size_t i = 0; i < m.cascade.size(); ++i) {
    const StageMetadata& s = m.cascade[i];
    text[stage_key(i, kCheckpoint)] = s.checkpoint;
    text[stage_key(i, kCheckpointHash)] = s.checkpoint_hash;
    text[stage_key(i, kCheckpointStep)] = std::to_string(s.checkpoint_step);
    text[stage_key(i, kPreset)] = s.preset;
    text[stage_key(i, kGuidance)] = general(s.guidance);
    text[stage_key(i, kSteps)] = std::to_string(s.steps);
    text[stage_key(i, kSampler)] = diffusion::to_string(s.sampler);
    if (s.aug) text[stage_key(i, kStageAug)] = general(*s.aug);
    text[stage_key(i, kStageSize)] = std::to_string(s.image_size);
    text[stage_key(i, kStageLowResSize)] = std::to_string(s.low_res_size);
  }
}

// The cascade keys, when the image has them; a stage without its checkpoint or sizes leaves the
// whole cascade out rather than misread it. Other fields out of range keep their defaults.
void read_cascade_keys(const std::map<std::string, std::string>& text, ImageMetadata& m) {
  const std::string* count_text = find(text, kCascadeStages);
  const auto count = count_text != nullptr ? parse<int>(*count_text) : std::nullopt;
  if (!count || *count < 1 || *count > kMaxStages) return;
  std::vector<StageMetadata> stages(static_cast<std::size_t>(*count));
  for (std::size_t i = 0; i < stages.size(); ++i) {
    StageMetadata& s = stages[i];
    const auto key = [i](const char* field) { return stage_key(i, field); };
    if (find(text, key(kCheckpoint).c_str()) == nullptr) return;
    read_text(text, key(kCheckpoint).c_str(), s.checkpoint);
    read_text(text, key(kCheckpointHash).c_str(), s.checkpoint_hash);
    read_text(text, key(kPreset).c_str(), s.preset);
    read_number(text, key(kCheckpointStep).c_str(), s.checkpoint_step, [](std::int64_t step) { return step >= 0; });
    read_number(text, key(kGuidance).c_str(), s.guidance, [](double w) { return w >= 0; });
    read_number(text, key(kSteps).c_str(), s.steps, [](int steps) { return steps > 0; });
    read_kind(text, key(kSampler).c_str(), s.sampler, diffusion::parse_sampler_kind);
    double aug = -1;
    read_number(text, key(kStageAug).c_str(), aug, [](double a) { return a >= 0 && a <= 1; });
    if (aug >= 0) s.aug = aug;
    read_number(text, key(kStageSize).c_str(), s.image_size, [](int side) { return side > 0; });
    read_number(text, key(kStageLowResSize).c_str(), s.low_res_size, [](int side) { return side >= 0; });
    if (s.image_size == 0) return;
  }
  m.cascade = std::move(stages);
  read_text(text, kCascadeFile, m.cascade_file);
}

} // namespace

ImageMetadata image_metadata(const Request& request, std::size_t index, const ModelInfo& model) {
  ImageMetadata m;
  m.prompt = request.prompts.at(index);
  m.seed = request.seeds.at(index);
  m.guidance = request.scales.empty() ? request.guidance : request.scales.at(index);
  m.steps = request.steps;
  m.sampler = request.sampler;
  m.eta = request.eta;
  m.thresholding = request.thresholding;
  m.threshold_percentile = request.threshold_percentile;
  m.checkpoint = model.checkpoint;
  m.checkpoint_hash = model.hash;
  m.checkpoint_step = model.step;
  m.preset = model.preset;
  return m;
}

std::map<std::string, std::string> to_png_text(const ImageMetadata& m) {
  std::map<std::string, std::string> text{{kPrompt, m.prompt},
                                          {kSeed, std::to_string(m.seed)},
                                          {kGuidance, general(m.guidance)},
                                          {kSteps, std::to_string(m.steps)},
                                          {kSampler, diffusion::to_string(m.sampler)},
                                          {kEta, fixed(m.eta)},
                                          {kThresholding, diffusion::to_string(m.thresholding)},
                                          {kPercentile, fixed(m.threshold_percentile)},
                                          {kCheckpoint, m.checkpoint},
                                          {kCheckpointHash, m.checkpoint_hash},
                                          {kCheckpointStep, std::to_string(m.checkpoint_step)},
                                          {kPreset, m.preset},
                                          {kSoftwareKey, kSoftware}};
  write_grid(m, text);
  if (m.inspection) write_inspection(*m.inspection, text);
  if (!m.cascade.empty()) write_cascade_keys(m, text);
  nlohmann::json version;
  io::stamp_document(metadata_format(), version);
  for (const auto& field : version.items()) text[field.key()] = field.value().get<std::string>();
  return text;
}

std::optional<ImageMetadata> read_image_metadata(const std::map<std::string, std::string>& png_text,
                                                 const std::string& origin, const ImageMetadata& defaults) {
  const std::map<std::string, std::string> text = upgrade_metadata(png_text, origin);
  const std::string* prompt = find(text, kPrompt);
  const std::string* seed_text = find(text, kSeed);
  const auto seed = seed_text != nullptr ? parse<std::uint64_t>(*seed_text) : std::nullopt;
  if (prompt == nullptr || !seed) return std::nullopt;

  ImageMetadata m = defaults;
  m.prompt = *prompt;
  m.seed = *seed;
  read_number(text, kGuidance, m.guidance, [](double w) { return w >= 0; });
  read_number(text, kSteps, m.steps, [](int steps) { return steps > 0; });
  read_number(text, kEta, m.eta, [](double) { return true; });
  read_number(text, kPercentile, m.threshold_percentile, [](double p) { return p > 0 && p <= 1; });
  read_number(text, kCheckpointStep, m.checkpoint_step, [](std::int64_t step) { return step >= 0; });
  read_kind(text, kSampler, m.sampler, diffusion::parse_sampler_kind);
  read_kind(text, kThresholding, m.thresholding, diffusion::parse_threshold_kind);
  read_text(text, kCheckpoint, m.checkpoint);
  read_text(text, kCheckpointHash, m.checkpoint_hash);
  read_text(text, kPreset, m.preset);
  m.grid_seeds.clear();
  m.grid_guidance.clear();
  m.grid_checkpoints.clear();
  m.grid_steps.clear();
  m.word_swap.reset();
  read_grid(text, m);
  m.inspection = read_inspection(text);
  m.cascade.clear();
  m.cascade_file.clear();
  read_cascade_keys(text, m);
  return m;
}

std::map<std::string, std::string> upgrade_metadata(const std::map<std::string, std::string>& text,
                                                    const std::string& origin) {
  const auto software = text.find(kSoftwareKey);
  if (software == text.end() || software->second != kSoftware) return text;
  nlohmann::json document(text);
  io::upgrade_document(metadata_format(), document, origin);
  return document.get<std::map<std::string, std::string>>();
}

} // namespace t2i::sample
