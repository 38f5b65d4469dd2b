// Training facade: what the CLI and the studio need to run, watch, pause and stop a training
// run, in plain C++ types. The engine behind it lives in core/src/train/.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "t2i/data.h"
#include "t2i/job.h"
#include "t2i/model.h"
#include "t2i/runtime.h"

namespace t2i::train {

/// Where the training images and captions come from.
struct DataSpec {
  bool demo = false;             ///< the built-in demo dataset (generated into cache_dir)
  std::string annotations;       ///< COCO captions JSON (or captions.csv/.jsonl) when !demo
  std::string images_dir;        ///< folder the annotations' file names are relative to
  std::string cache_dir;         ///< image cache, split manifest, text-embedding cache (default: <run>/data)
  int max_images = 20000;        ///< subset size before the 75/15/10 split (the paper's 20k)
  int demo_images = 4000;        ///< images generated for the demo dataset
};

/// The cache folder (DataSpec::cache_dir) the studio gives a dataset under `cache_root`:
/// data::cache_folder of the source and split training reads, or one folder per size of the
/// demo dataset.
std::string cache_folder(const std::string& cache_root, const DataSpec& spec, int image_size);

/// Whether the image cache and split of `cache_dir` (DataSpec::cache_dir) were built to the end,
/// so preparing them again only reads them.
bool caches_built(const std::string& cache_dir);

/// Studio 0.1.0 named a captions dataset's cache folder after a SHA-1 of its two absolute source
/// paths. A cache under that name, and none under cache_folder()'s, is moved there rather than
/// rebuilt (opening it still checks its contents). Returns the folder moved, or empty.
std::string adopt_cache_of_version_010(const std::string& cache_root, const DataSpec& spec, int image_size);

/// How the best checkpoint is chosen (the paper compares both, §7.3).
enum class Selection { ValP2, ValP2AndFid };

struct TrainOptions {
  std::string preset = "demo";   ///< preset name (presets/<name>.json) or a path to a preset file
  DataSpec data;
  std::string run_dir;           ///< every file of the run goes here
  bool resume = false;           ///< continue from run_dir's latest checkpoint (exactly)
  std::string device = "cpu";    ///< "cpu" or "cuda[:N]"
  std::string t5_dir;            ///< Hugging Face T5 folder; empty = learned text encoder
  std::string inception_weights; ///< FID Inception weights; empty = FID unavailable
  int fid_samples = 256;         ///< generated validation samples scored per evaluation (FID and KID)
  Selection selection = Selection::ValP2;
  int64_t max_steps = 0;         ///< 0 = until early stopping (or the preset's budget)
  double max_minutes = 0;        ///< 0 = no time limit
  bool overfit_one_batch = false;///< the paper's §7.1 sanity check: train on one fixed batch
  int overfit_images = 8;
  std::uint64_t seed = 0;
  int keep_last = 3;             ///< checkpoints kept besides the best
  int preview_every = 0;         ///< steps between sample-preview grids (0 = at each evaluation)
  /// The probe gallery (t2i/probe_gallery.h), sampled at step 0 and every evaluation.
  bool probe_gallery = true;
  std::vector<std::string> probe_prompts;  ///< probe prompts besides the validation captions
  runtime::Precision precision = runtime::Precision::Auto;  ///< bf16 autocast or fp32; Auto = the device's fastest
  bool activation_checkpointing = false;
  /// Data-parallel runs: seconds a rank waits for the others (rendezvous, each collective) before
  /// the run stops with an error naming the ranks that did not answer. A rank that dies is noticed
  /// at once; this bounds a hang. Long enough for the evaluations and rank 0's previews (PyTorch's default).
  int collective_timeout_seconds = 1800;
};

struct StepMetrics {
  std::int64_t step = 0;
  double train_loss = 0;         ///< P2-weighted loss of this step's batch
  double learning_rate = 0;
  double grad_norm = 0;
  double images_per_second = 0;
  double elapsed_seconds = 0;
  double eta_seconds = -1;       ///< -1 when unknown
  std::int64_t skipped_nonfinite = 0;
  std::int64_t allreduce_bytes = 0;             ///< data-parallel runs: gradient bytes all-reduced per rank
  std::int64_t allreduce_overlapped_bytes = 0;  ///< of which started while backward still ran
  /// Data-parallel runs: each rank's images per second of its own computing (its shard over the
  /// time before it waits for the others), by rank; empty for one process.
  std::vector<double> rank_images_per_second = {};
};

struct EvalMetrics {
  std::int64_t step = 0;
  double val_p2 = 0;             ///< validation P2 loss with fixed noise and timesteps
  std::optional<double> fid;     ///< unset when unavailable (see fid_status)
  std::optional<double> kid;
  std::string fid_status;        ///< why FID is unavailable, or how it was computed
  bool improved = false;
  std::int64_t steps_without_improvement = 0;
  std::int64_t early_stop_in = -1; ///< steps left before early stopping (-1 = no early stop)
};

struct Summary {
  std::int64_t steps = 0;
  std::string stop_reason;       ///< "max steps", "early stop", "cancelled", "time limit", or an error
  std::optional<double> best_val_p2;
  std::string best_checkpoint;
  std::string last_checkpoint;
};

/// Receives a run's measurements on the training thread; implementations hand them to their own
/// thread (the studio uses queued signals). Every method has an empty default. Status lines,
/// counts and sample grids come through the job protocol (t2i/job.h).
class Observer {
public:
  virtual ~Observer() = default;
  virtual void on_step(const StepMetrics& /*metrics*/) {}
  virtual void on_eval(const EvalMetrics& /*metrics*/) {}
  virtual void on_checkpoint(const std::string& /*path*/, bool /*best*/) {}
};

/// Pausing, training's own control beside the job's cancel token: while set, the trainer holds
/// between steps (until it is cleared or the job is cancelled).
using Pause = std::atomic<bool>;

/// What training with these options needs, known before it starts: the studio shows it beside
/// the preset and warns when the peak exceeds the machine's memory.
struct ResourceEstimate {
  std::int64_t parameters = 0;   ///< trainable parameters (U-Net, plus the text encoder when learned)
  std::uint64_t peak_bytes = 0;  ///< estimated peak resident memory of training
  std::uint64_t sample_peak_bytes = 0;  ///< estimated peak resident memory of sampling one image with guidance
  std::string breakdown;         ///< how the peak is made up (weights, optimiser, EMA, activations, caches)
};

/// Sizes the model `preset` describes with the options' text encoder (without training it) and
/// estimates training's peak memory from the micro-batch, image size, precision and
/// checkpointing, and sampling's from the network alone. Super-resolution stages included (their
/// parameters and activations at their own resolution). Throws like run().
ResourceEstimate estimate_resources(const model::Preset& preset, const TrainOptions& options);

/// A usable image of a prepared dataset, for browsing.
struct DataItem {
  std::string image_path;
  std::vector<std::string> captions;
  std::string split;             ///< "train", "val" or "test"
};

/// What prepare_data() built: the dataset exactly as run() will read it.
struct PreparedData {
  data::Source source;           ///< the caption file and images folder (the generated ones for the demo)
  std::string cache_dir;
  data::DatasetReport report;    ///< of the subset prepared, with its split sizes
  std::string text_cache;        ///< the text-embedding cache; empty with a learned text encoder
  std::vector<DataItem> items;   ///< every usable image of the subset with its captions and split
  bool cancelled = false;        ///< stopped early; preparing again resumes
};

/// Builds what run() needs before its first step (the demo dataset when asked for, the image
/// cache and split at the preset's image size, the text-embedding cache with a T5 encoder): a
/// job (t2i/job.h) stopping soon after a cancel. run() with the same options reuses all of it.
/// Throws like run().
PreparedData prepare_data(const TrainOptions& options, const job::Context& job = {});

/// Runs a training run to its end on the calling thread: a job (t2i/job.h) reporting status
/// lines, counts (data preparation, "text embeddings", "FID reference statistics", "FID
/// samples") and each sample grid (a Progress with `step` and a snapshot captioned with its
/// prompts). A cancel stops it within one micro-batch, writing a checkpoint ("cancelled").
/// Throws std::runtime_error with a message naming the problem (bad preset, unreadable data,
/// unwritable run folder, …).
Summary run(const TrainOptions& options, Observer& observer, const job::Context& job = {},
            const Pause* pause = nullptr);

} // namespace t2i::train
