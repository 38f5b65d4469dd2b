#include "generation_settings.h"

namespace t2i::ui {

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

t2i::sample::ImageMetadata toImageMetadata(const GenerationSettings& s) {
  t2i::sample::ImageMetadata m;
  m.prompt = s.prompt.toStdString();
  m.seed = s.seed;
  m.guidance = s.guidance;
  m.steps = s.steps;
  m.sampler = diffusion::parse_sampler_kind(s.sampler.toStdString());
  m.eta = s.eta;
  m.thresholding = diffusion::parse_threshold_kind(s.thresholding.toStdString());
  m.threshold_percentile = s.percentile;
  m.checkpoint = s.checkpoint.toStdString();
  m.inspection = s.inspection;
  return m;
}

GenerationSettings fromImageMetadata(const t2i::sample::ImageMetadata& m) {
  GenerationSettings s;
  s.checkpoint = QString::fromStdString(m.checkpoint);
  s.prompt = QString::fromStdString(m.prompt);
  s.seed = m.seed;
  s.guidance = m.guidance;
  s.steps = m.steps;
  s.sampler = QString::fromStdString(diffusion::to_string(m.sampler));
  s.eta = m.eta;
  s.thresholding = QString::fromStdString(diffusion::to_string(m.thresholding));
  s.percentile = m.threshold_percentile;
  s.images = 1;
  s.inspection = m.inspection;
  s.cascadeFile = QString::fromStdString(m.cascade_file);
  for (const t2i::sample::StageMetadata& stage : m.cascade)
    s.cascade.stages.push_back({stage.checkpoint, stage.guidance, stage.steps, stage.sampler, stage.aug});
  return s;
}

std::optional<GenerationSettings> settingsFromMetadata(const std::map<std::string, std::string>& text,
                                                       const QString& origin, const GenerationSettings& defaults) {
  const auto read = t2i::sample::read_image_metadata(text, origin.toStdString(), toImageMetadata(defaults));
  if (!read) return std::nullopt;
  return fromImageMetadata(*read);
}

} // namespace t2i::ui
