// Sampling facade: load a trained checkpoint once, then turn prompts into images with
// classifier-free guidance, watching every denoising step. Plain C++ types only.
#pragma once

#include "t2i/attention.h"
#include "t2i/diffusion.h"
#include "t2i/guidance_anatomy.h"
#include "t2i/image.h"
#include "t2i/job.h"
#include "t2i/text.h"
#include "t2i/train.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace t2i::sample {

struct Request {
  std::vector<std::string> prompts;      ///< one image per prompt (repeat a prompt for several seeds)
  std::vector<std::uint64_t> seeds;      ///< one per prompt; the same seed gives the same image
  double guidance = 5.0;                 ///< classifier-free guidance scale w (1 = off)
  int steps = 50;
  diffusion::SamplerKind sampler = diffusion::kDefaultSampler;
  double eta = 0.0;                      ///< DDIM stochasticity
  diffusion::ThresholdKind thresholding = diffusion::ThresholdKind::Dynamic;
  double threshold_percentile = 0.995;
};

/// One denoising step as the studio shows it.
struct StepView {
  int step = 0;                   ///< 1-based
  int total = 0;
  double t = 0;                   ///< diffusion time in [0, 1]
  std::vector<Image> x_t;         ///< the current noisy images
  std::vector<Image> x0_pred;     ///< the model's current estimate of the clean images
};

struct ModelInfo {
  std::string checkpoint;
  std::string preset;
  std::int64_t step = 0;
  std::int64_t parameters = 0;
  int image_size = 0;
  double default_guidance = 5.0;  ///< the preset's cond scale
  /// The most sampling steps its schedule gives (sampling starts where the log-SNR is bounded,
  /// a few steps below T); 0 = any number.
  int max_steps = 0;
  std::string text_encoder;       ///< "t5:<dir>" or "learned"
  std::string hash;               ///< content hash of the checkpoint file
};

/// What a generation records besides its images, where given (each costs memory: see bytes()).
struct Probes {
  AttentionMaps* attention = nullptr;  ///< cross-attention token maps of every step
  GuidanceAnatomy* guidance = nullptr; ///< both halves of guidance at every step
};

class Generator {
public:
  /// Loads a checkpoint (EMA weights) onto a device. Throws naming the file and the problem.
  explicit Generator(const std::string& checkpoint, const std::string& device = "cpu");
  ~Generator();
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  const ModelInfo& info() const;

  /// How the model reads `prompt`: its pieces, </s> last, and whether the text was cut to the
  /// model's token limit (the studio says so beside the prompt).
  text::Tokenized tokenize(const std::string& prompt) const;

  /// Generates one image per prompt: a job (t2i/job.h) counting "denoising" steps, which a
  /// cancel stops within one step, returning an empty vector. `on_step` (optional) sees the
  /// images of every step. `probes` are filled with what they record; the images are the same
  /// with or without them.
  std::vector<Image> generate(const Request& request, const job::Context& job = {},
                              const std::function<void(const StepView&)>& on_step = {}, const Probes& probes = {});

  /// The PNG text of image `index` of `request`: to_png_text(image_metadata(request, index, info())).
  std::map<std::string, std::string> metadata(const Request& request, std::size_t index) const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// How an image was made, as the text metadata of the PNGs t2i-studio writes records it. This
/// struct and its two conversions below own the metadata's keys: `t2i sample`, the Generate page
/// and the Compare page write and read PNGs only through them.
struct ImageMetadata {
  std::string prompt;
  std::uint64_t seed = 0;
  double guidance = 5.0;
  int steps = 50;
  diffusion::SamplerKind sampler = diffusion::kDefaultSampler;
  double eta = 0.0;
  diffusion::ThresholdKind thresholding = diffusion::ThresholdKind::Dynamic;
  double threshold_percentile = 0.995;
  std::string checkpoint;             ///< the path the model was loaded from
  std::string checkpoint_hash;        ///< ModelInfo::hash
  std::int64_t checkpoint_step = 0;
  std::string preset;
  /// A comparison grid (the Compare page's export): the fields above describe its top-left
  /// image; these list the rows' seeds, the columns' guidance scales and, when the columns come
  /// from several checkpoints, each column's checkpoint. Empty for a single image.
  std::vector<std::uint64_t> grid_seeds;
  std::vector<double> grid_guidance;
  std::vector<std::string> grid_checkpoints;
};

/// The metadata of image `index` of `request`, made by the model `model` describes.
ImageMetadata image_metadata(const Request& request, std::size_t index, const ModelInfo& model);

/// `metadata` as PNG text, with "software", "format_version" and "written_by" like every file
/// t2i-studio writes. Numbers are written the same whatever the process's C locale.
std::map<std::string, std::string> to_png_text(const ImageMetadata& metadata);

/// The generation settings in a PNG's text (read_png), upgraded from older versions
/// (upgrade_metadata, which also throws for a newer major version, naming `origin`). nullopt when
/// the text has no prompt and seed (not an image t2i-studio generated). Fields the text lacks,
/// or holds out of range, keep `defaults`' values.
std::optional<ImageMetadata> read_image_metadata(const std::map<std::string, std::string>& text,
                                                 const std::string& origin, const ImageMetadata& defaults = {});

/// Writes a sampling-only copy of a training checkpoint to `out` (atomically): the model
/// description and its EMA weights, float16 when `fp16` (about a quarter of the training file).
/// Generator loads it like any checkpoint. Throws naming the file and the problem.
void export_for_sampling(const std::string& checkpoint, const std::string& out, bool fp16);

/// Writes an RGB8 PNG with tEXt metadata, atomically. Throws naming the file on failure.
void write_png(const std::string& path, const Image& image, const std::map<std::string, std::string>& text = {});

/// Reads an RGB8 PNG and its tEXt metadata (for round trips and the studio's "open image").
Image read_png(const std::string& path, std::map<std::string, std::string>* text = nullptr);

/// Only a PNG's text metadata, without decoding its pixels (restoring settings from an image).
/// Throws naming the file and the problem.
std::map<std::string, std::string> read_png_text(const std::string& path);

/// The generation parameters in a PNG's text metadata (read_png) as this build names them: the
/// metadata of t2i-studio 0.1.0 (no version keys) and of older versions is upgraded, and the
/// version keys are removed. Metadata from a newer major version throws, naming `origin` and both
/// versions (the image itself still reads). Text that another program wrote (no "software":
/// "t2i-studio") comes back as it is.
std::map<std::string, std::string> upgrade_metadata(const std::map<std::string, std::string>& text,
                                                    const std::string& origin);

} // namespace t2i::sample
