// The settings of one generation as the studio's controls hold them, turned into a core request
// and read back from the text metadata of a PNG the studio (or `t2i sample`) saved. The metadata's
// keys belong to the core (t2i::sample::ImageMetadata); this only converts to and from its fields.
#pragma once

#include "t2i/sample.h"

#include <QString>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace t2i::ui {

struct GenerationSettings {
  QString checkpoint;
  QString prompt;
  std::uint64_t seed = 0;
  double guidance = 5.0;
  int steps = 50;
  QString sampler = QString::fromStdString(t2i::diffusion::to_string(t2i::diffusion::kDefaultSampler));
  double eta = 0.0;
  QString thresholding = QStringLiteral("dynamic");
  double percentile = 0.995;
  int images = 1;
  /// How Look inside showed the images; none for images saved before it was recorded.
  std::optional<t2i::sample::ImageInspection> inspection;
  /// A cascade's generation: its file and stages (every stage's settings as recorded; the fields
  /// above are the base stage's). Empty for one model.
  QString cascadeFile;
  t2i::sample::Cascade cascade;

  /// `images` copies of the prompt with consecutive seeds from `seed`.
  t2i::sample::Request request() const;
};

/// The core's metadata fields these settings hold (the model's own fields stay empty).
t2i::sample::ImageMetadata toImageMetadata(const GenerationSettings& settings);
/// The settings of one image `metadata` describes (a grid's top-left image).
GenerationSettings fromImageMetadata(const t2i::sample::ImageMetadata& metadata);

/// The settings stored in a PNG's text chunks; nullopt when it has no prompt or seed (not a
/// t2i-studio image). Fields the metadata lacks keep `defaults`' values. Throws, naming `origin`,
/// for metadata a newer major version of t2i-studio wrote.
std::optional<GenerationSettings> settingsFromMetadata(const std::map<std::string, std::string>& text,
                                                       const QString& origin, const GenerationSettings& defaults = {});

} // namespace t2i::ui
