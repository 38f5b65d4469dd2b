#include "generation_settings.h"

namespace t2i::ui {
namespace {
// The PNG text keys of t2i::sample::Generator::metadata().
constexpr const char* kPrompt = "prompt";
constexpr const char* kSeed = "seed";
constexpr const char* kGuidance = "cfg";
constexpr const char* kSteps = "steps";
constexpr const char* kSampler = "sampler";
constexpr const char* kEta = "eta";
constexpr const char* kThresholding = "thresholding";
constexpr const char* kPercentile = "threshold_percentile";
constexpr const char* kCheckpoint = "checkpoint";

std::optional<QString> value(const std::map<std::string, std::string>& text, const char* key) {
  const auto found = text.find(key);
  if (found == text.end()) return std::nullopt;
  return QString::fromStdString(found->second);
}

template <typename Parse>
void readNumber(const std::map<std::string, std::string>& text, const char* key, Parse parse) {
  if (const auto v = value(text, key)) parse(v->trimmed());
}
} // namespace

t2i::sample::Request GenerationSettings::request() const {
  t2i::sample::Request request;
  for (int i = 0; i < images; ++i) {
    request.prompts.push_back(prompt.toStdString());
    request.seeds.push_back(seed + static_cast<std::uint64_t>(i));
  }
  request.guidance = guidance;
  request.steps = steps;
  request.sampler = diffusion::parse_sampler_kind(sampler.toStdString());
  request.eta = eta;
  request.thresholding = diffusion::parse_threshold_kind(thresholding.toStdString());
  request.threshold_percentile = percentile;
  return request;
}

std::optional<GenerationSettings> settingsFromMetadata(const std::map<std::string, std::string>& text,
                                                       const GenerationSettings& defaults) {
  const auto prompt = value(text, kPrompt);
  const auto seedText = value(text, kSeed);
  if (!prompt || !seedText) return std::nullopt;
  bool ok = false;
  const std::uint64_t seed = seedText->trimmed().toULongLong(&ok);
  if (!ok) return std::nullopt;

  GenerationSettings s = defaults;
  s.prompt = *prompt;
  s.seed = seed;
  s.images = 1;
  readNumber(text, kGuidance, [&](const QString& v) {
    const double w = v.toDouble(&ok);
    if (ok && w >= 0) s.guidance = w;
  });
  readNumber(text, kSteps, [&](const QString& v) {
    const int steps = v.toInt(&ok);
    if (ok && steps > 0) s.steps = steps;
  });
  readNumber(text, kEta, [&](const QString& v) {
    const double eta = v.toDouble(&ok);
    if (ok) s.eta = eta;
  });
  readNumber(text, kPercentile, [&](const QString& v) {
    const double p = v.toDouble(&ok);
    if (ok && p > 0 && p <= 1) s.percentile = p;
  });
  if (const auto sampler = value(text, kSampler)) s.sampler = *sampler;
  if (const auto thresholding = value(text, kThresholding)) s.thresholding = *thresholding;
  if (const auto checkpoint = value(text, kCheckpoint)) s.checkpoint = *checkpoint;
  return s;
}

} // namespace t2i::ui
