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
  /// One guidance scale per prompt instead of `guidance`, all sampled as one batch (one seed at
  /// several scales is one frozen trajectory seen at each); empty = `guidance` for every prompt.
  std::vector<double> scales;
  int steps = 50;
  diffusion::SamplerKind sampler = diffusion::kDefaultSampler;
  double eta = 0.0;                      ///< DDIM stochasticity
  diffusion::ThresholdKind thresholding = diffusion::ThresholdKind::Dynamic;
  double threshold_percentile = 0.995;
  /// Super-resolution stages only: the images they enlarge, one per prompt, each the stage's
  /// low-resolution size (in a cascade, the images of the stage before).
  std::vector<Image> low_res;
  /// Super-resolution stages only: the noise conditioning augmentation level, a diffusion time in
  /// [0, 1] (Imagen §2.3); unset: the preset's sample_aug.
  std::optional<double> aug;
};

/// One denoising step as the studio shows it.
struct StepView {
  int step = 0;                   ///< 1-based, within its stage
  int total = 0;                  ///< the stage's steps
  int stage = 0;                  ///< a cascade's stage, 0 = the base model
  int stages = 1;
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
  int low_res_size = 0;           ///< a super-resolution stage's input side; 0 = a base model
  double default_guidance = 5.0;  ///< the preset's cond scale
  double default_aug = 0;         ///< super-resolution stages: the preset's sample_aug
  /// The most sampling steps its schedule gives (sampling starts where the log-SNR is bounded,
  /// a few steps below T); 0 = any number.
  int max_steps = 0;
  std::string text_encoder;       ///< "t5:<dir>" or "learned"
  std::string hash;               ///< content hash of the checkpoint file
};

/// A word swap on one frozen trajectory (Prompt-to-Prompt, Hertz et al. 2022): prompt A and prompt
/// B, A with `from` replaced by `to`, sampled with the same seed, so the same x_T and noise draws.
struct WordSwap {
  std::string from;   ///< a word of prompt A (every whole-word occurrence is replaced)
  std::string to;
  /// The fraction f of the steps in which B's cross-attention uses A's conditional attention
  /// probabilities instead of its own (P2P's cross_replace_steps: the first ⌊f·N⌋ steps); 0 = the
  /// same noise only. Needs B's text to have as many pieces as A's.
  double inject = 0;
};

struct WordSwapResult {
  std::string prompt_a, prompt_b;
  Image a, b;               ///< empty when cancelled
  Image difference;         ///< |A − B| per channel
  AttentionMaps maps_a, maps_b;  ///< each generation's token maps (B's as its layers used them)
  int word_a = -1, word_b = -1;  ///< the swapped word's index in maps_a.words(0) / maps_b.words(0), −1 if not one word there
  int injected_steps = 0;
};

/// The guidance scales the paper compares: the default rows of a scale × step grid.
inline const std::vector<double> kTrajectoryScales{1, 3, 5, 8};

/// One frozen trajectory seen at several guidance scales (rows) and steps (columns).
struct TrajectoryGrid {
  std::vector<double> scales;               ///< rows
  std::vector<int> steps;                   ///< columns, 1-based sampling steps
  std::vector<std::vector<Image>> x0_pred;  ///< [row][column]: the estimate of the clean image at that step
  std::vector<std::vector<Image>> x_t;      ///< [row][column]: the noisy image the network saw there
  std::vector<Image> images;                ///< [row]: the final image; empty when cancelled
};

/// `count` steps of `total` evenly spread, the last one `total` (e.g. 5 of 50: 10, 20, 30, 40, 50).
std::vector<int> evenly_spaced_steps(int total, int count);

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

  /// Word swap (WordSwap): `request`'s one prompt (A) and seed, and B. Throws
  /// std::invalid_argument when `from` is not a word of A or, when injecting, B's text has another
  /// number of pieces than A's.
  WordSwapResult swap_word(const Request& request, const WordSwap& swap, const job::Context& job = {});

  /// The PNG text of image `index` of `request`: to_png_text(image_metadata(request, index, info())).
  std::map<std::string, std::string> metadata(const Request& request, std::size_t index) const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// How the Generate page's "Look inside" showed an image when it was saved, so that opening the
/// image shows it the same way again (PNG metadata 1.2; absent from older images).
struct ImageInspection {
  enum class Words { None, One, All };
  bool look_inside = false;
  bool freeze_noise = false;
  Words words = Words::None;    ///< no map, one word's map, or every word's side by side
  std::string word;             ///< the word laid over the image, with Words::One
  AttentionSelection attention;  ///< which attention was shown; its `image` is not recorded
  AttentionNormalisation normalisation = AttentionNormalisation::Global;
  double opacity = 0.6;         ///< of the map over the image, in [0, 1]
};

/// One stage of a cascade as it made an image (PNG metadata 1.3).
struct StageMetadata {
  std::string checkpoint;
  std::string checkpoint_hash;
  std::int64_t checkpoint_step = 0;
  std::string preset;
  double guidance = 5.0;
  int steps = 50;
  diffusion::SamplerKind sampler = diffusion::kDefaultSampler;
  std::optional<double> aug;  ///< super-resolution stages only
  int image_size = 0;
  int low_res_size = 0;       ///< 0 = the base model
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
  /// One frozen trajectory's grid (1.4): its rows are grid_guidance sampled as one batch, its
  /// columns x̂₀ at these steps (1-based). Empty for any other image.
  std::vector<int> grid_steps;
  /// A word swap on one frozen trajectory (1.4): A is the prompt above, B the prompt with the swap.
  std::optional<WordSwap> word_swap;
  std::optional<ImageInspection> inspection;
  /// A cascade's image (1.3): the fields above describe its base stage (so older readers remake
  /// the base image), these every stage in order, the base first, and the cascade file it was
  /// sampled from. Empty for an image of one model.
  std::vector<StageMetadata> cascade;
  std::string cascade_file;
};

/// `request`'s one prompt and seed at each of `scales` as ONE batch (every row shares x_T and every
/// noise draw: the paper's 5-vs-8 comparison made exact), keeping x̂₀ and x_t at `steps` (1-based,
/// at most request.steps). Throws std::invalid_argument for a request of several prompts, no
/// scales or a step out of range.
TrajectoryGrid scale_step_grid(Generator& generator, const Request& request, const std::vector<double>& scales,
                               const std::vector<int>& steps, const job::Context& job = {});

/// Equal-sized images laid out row by row with `columns` columns and a 2-pixel white gap.
Image image_grid(const std::vector<Image>& images, int columns);

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

/// One stage of a cascade (Imagen's base model, then super-resolution stages). The optional
/// settings override the checkpoint's defaults for that stage.
struct CascadeStage {
  std::string checkpoint;                         ///< resolved: relative paths against the cascade file's folder
  std::optional<double> guidance;                 ///< classifier-free guidance scale w, ≥ 0
  std::optional<int> steps;                       ///< sampling steps, ≥ 1
  std::optional<diffusion::SamplerKind> sampler;
  std::optional<double> aug;                      ///< super-resolution stages only: the noise
                                                  ///< conditioning augmentation level in [0, 1]
};

/// A cascade file: {"format_version": "1.0", "stages": [{"checkpoint": PATH, "guidance": w,
/// "steps": n, "sampler": "ddpm|ddim|dpmpp", "aug": a}, …]}, the base stage first and at least one
/// super-resolution stage after it; every key but "checkpoint" optional.
struct Cascade {
  std::vector<CascadeStage> stages;
};

inline bool operator==(const CascadeStage& a, const CascadeStage& b) {
  return a.checkpoint == b.checkpoint && a.guidance == b.guidance && a.steps == b.steps && a.sampler == b.sampler && a.aug == b.aug;
}
inline bool operator==(const Cascade& a, const Cascade& b) { return a.stages == b.stages; }

/// Reads and validates a cascade file; every checkpoint must exist. Throws std::runtime_error
/// naming the file and the problem ("FILE: stages[1].steps: expected an integer ≥ 1, got -3").
Cascade read_cascade(const std::string& path);

/// Writes `cascade` to `path` atomically; checkpoints inside the file's folder are written
/// relative to it (the folder can move), others absolute. read_cascade gives `cascade` back.
void write_cascade(const Cascade& cascade, const std::string& path);

/// Stage `stage`'s request in a cascade: `request` (the base stage's settings, prompts and seeds)
/// with the stage's own guidance, steps, sampler and aug where the cascade sets them. An unset
/// guidance of a super-resolution stage is its model's default; unset steps are the request's,
/// at most what the model's schedule gives.
Request stage_request(const Request& request, const Cascade& cascade, std::size_t stage, const ModelInfo& model);

/// Throws std::runtime_error naming `origin` and the stage unless `models` (one per stage of a
/// cascade) chain: a base model first, then super-resolution stages each enlarging the size the
/// stage before makes.
void check_cascade(const std::vector<ModelInfo>& models, const std::string& origin);

/// Samples a cascade (`origin` names its file in errors): `request`'s prompts and seeds through
/// the base stage, then each super-resolution stage enlarging the images of the stage before,
/// with the same seeds. `stages` are the cascade's loaded models in order (check_cascade).
/// Returns each stage's images, the base first ([stage][image]); empty when cancelled, which
/// stops within one step. `on_step` sees every stage's steps, StepView::stage telling which.
std::vector<std::vector<Image>> generate_cascade(const std::vector<Generator*>& stages, const Cascade& cascade,
                                                 const std::string& origin, const Request& request,
                                                 const job::Context& job = {},
                                                 const std::function<void(const StepView&)>& on_step = {});

/// The metadata of image `index` of a cascade's generation (generate_cascade's arguments; `models`
/// the stages' ModelInfo).
ImageMetadata cascade_metadata(const Request& request, std::size_t index, const Cascade& cascade,
                               const std::string& origin, const std::vector<ModelInfo>& models);

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
