// The probe gallery (issue 26): at step 0 and at every evaluation the trainer samples fixed probe
// prompts × seeds × guidance scales with the EMA weights, the same sampler and steps every time,
// and keeps x̂₀ and x_t at ~10 fixed sampling steps, so a run shows how the same seed changes over
// training and over denoising. Part of the training facade (t2i::train, core/src/train/), in a
// header of its own because the CLI and the Train page read galleries from run folders.
//
// On disk (run folder probes/, "probe gallery" format 1.0): index.json names the probes, the
// sampling settings, the recorded steps and one sheet per evaluation; each sheet
// (step_<N>.png, RGB8) holds one tile of image_size² per probe and recorded step: row p is probe
// p, column k < K is x̂₀ at recorded step k, column K + k is x_t there (K = recorded steps).
#pragma once

#include "t2i/image.h"
#include "t2i/neighbours.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace t2i::train {

/// Defaults of a run's probes: validation captions, seeds per prompt, guidance scales, and how
/// many sampling steps each probe keeps.
inline constexpr int kProbeCaptions = 4;
inline constexpr int kProbeSeeds = 2;
inline constexpr double kProbeGuidance[] = {1.0, 4.0, 7.0};
inline constexpr int kProbeRecordedSteps = 10;

/// One probe: a prompt sampled from one seed at one guidance scale.
struct Probe {
  std::string prompt;
  std::uint64_t seed = 0;
  double guidance = 1.0;
};

/// Which image of a recorded step.
enum class ProbeImage { Estimate /* x̂₀ */, Noisy /* x_t */ };

/// A run's gallery as its index.json describes it.
struct ProbeGallery {
  std::vector<std::string> prompts;
  std::vector<std::uint64_t> seeds;
  std::vector<double> guidance;
  std::string sampler;                  ///< diffusion::to_string(SamplerKind)
  std::string thresholding;             ///< diffusion::to_string(ThresholdKind)
  int sampling_steps = 0;
  std::vector<int> recorded_steps;      ///< 1-based sampling steps kept, ascending (the last is the final image)
  std::vector<double> recorded_t;       ///< the diffusion time of each
  int image_size = 0;
  struct Evaluation {
    std::int64_t step = 0;              ///< training step
    std::string sheet;                  ///< the sheet's path (resolved against the run folder)
  };
  std::vector<Evaluation> evaluations;  ///< ascending by step, each step once

  /// Probe p = (prompt × seeds + seed) × scales + scale.
  int probe_count() const { return static_cast<int>(prompts.size() * seeds.size() * guidance.size()); }
  Probe probe(int index) const;
  /// "#p w=W seed S: prompt"
  std::string probe_label(int index) const;
};

/// `run_dir`'s gallery; nullopt when the run has none (trained without probes, or by a version
/// before them). Throws naming the file when index.json is unreadable or of a newer major version,
/// and like read_history when `run_dir` is not a run.
std::optional<ProbeGallery> read_probe_gallery(const std::string& run_dir);

/// Evaluation `evaluation`'s sheet. Throws naming the file when it is missing, unreadable or not
/// the size the index gives.
Image read_probe_sheet(const ProbeGallery& gallery, std::size_t evaluation);

/// One tile of a sheet: probe `probe`'s `kind` image at recorded step `recorded`.
Image probe_tile(const ProbeGallery& gallery, const Image& sheet, int probe, std::size_t recorded, ProbeImage kind);

/// What `t2i runs gallery` lays out: columns over training steps (rows = probes, each at the
/// final recorded step) or over denoising steps (rows = training steps, one probe).
enum class GalleryAxis { Training, Denoising };

struct GalleryGridOptions {
  GalleryAxis axis = GalleryAxis::Training;
  std::optional<int> probe;   ///< one probe; every probe when unset (training axis only)
  ProbeImage kind = ProbeImage::Estimate;
};

/// A labelled grid: cell (r, c)'s tile, enlarged `scale` times, starts at
/// (left + c × (scale × image_size + gap), top + r × (scale × image_size + gap)).
struct GalleryGrid {
  Image image;
  int scale = 1;
  int left = 0, top = 0, gap = 0;
  int rows = 0, columns = 0;
};

/// Reads the sheets it needs and draws the grid with its labels (training steps, denoising steps,
/// probes). Throws naming the problem for a probe out of range or a gallery with no evaluation.
GalleryGrid gallery_grid(const ProbeGallery& gallery, const GalleryGridOptions& options);

/// The memorisation curve of a run (issue 26; Somepalli et al. 2023): at step 0 and every
/// evaluation, the share of the probe gallery's final images whose nearest training image
/// (t2i/neighbours.h) is closer than the 95th percentile of the train-to-train nearest values.
/// In metrics.jsonl: one "memorisation_baseline" event when the run starts (the threshold and
/// the baseline's histogram) and one "memorisation" event per gallery evaluation.
struct MemorisationCurve {
  evaluate::NeighbourMeasure measure = evaluate::NeighbourMeasure::PixelL2;
  std::string measure_note;       ///< why pixels were used; empty for Inception features
  double percentile = evaluate::kMemorisationPercentile;
  double threshold = 0;           ///< memorisation_threshold of the baseline
  std::int64_t images = 0;        ///< training images of the baseline
  evaluate::Histogram baseline;   ///< of the train-to-train nearest values
  struct Point {
    std::int64_t step = 0;
    double share = 0;             ///< flagged / probes
    std::int64_t flagged = 0;
    std::int64_t probes = 0;
    double closest = 0;           ///< the closest value of any probe to its nearest training image
  };
  std::vector<Point> points;      ///< ascending by step, each step once
};

/// `run_dir`'s curve; nullopt when the run has none (no probe gallery, or trained by a version
/// before it). Throws like read_history when `run_dir` is not a run or its metrics are damaged.
std::optional<MemorisationCurve> read_memorisation(const std::string& run_dir);

} // namespace t2i::train
