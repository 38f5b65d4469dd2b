// The training run (paper §5, §7; design.md §7): data → text → U-Net with P2 loss → validation,
// selection, checkpoints, previews, with the facade's observer and controls.
#include "t2i/train.h"

#include "data/batch_loader.h"
#include "data/image_pairs.h"
#include "diffusion/loss.h"
#include "io/device.h"
#include "model/checkpoint_file.h"
#include "sample/sampling.h"
#include "sample/text_to_image_model.h"
#include "t2i/data.h"
#include "t2i/log.h"
#include "t2i/runs.h"
#include "t2i/runtime.h"
#include "t2i/sample.h"
#include "train/adamw.h"
#include "train/best_checkpoint.h"
#include "train/data_parallel.h"
#include "train/dataset_setup.h"
#include "train/evaluation_schedule.h"
#include "train/ema.h"
#include "train/fid_hook.h"
#include "train/loss_by_noise.h"
#include "train/memorisation.h"
#include "train/probe_gallery.h"
#include "train/run_folder.h"
#include "train/stage_condition.h"
#include "train/train_step.h"
#include "train/validation.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <thread>

namespace fs = std::filesystem;

namespace t2i::train {
namespace {

constexpr int kMaxNonFiniteInARow = 5;        // K consecutive non-finite losses stop the run
constexpr std::size_t kPreviewImages = 8;
constexpr double kGradClip = 1.0;

using Clock = std::chrono::steady_clock;

// Paths in stored options: inside the run folder relative to it (the folder may move), outside
// it absolute (the command may run from another directory next time).
std::string portable_path(const std::string& path, const std::string& run_dir) {
  if (path.empty()) return path;
  std::error_code error;
  const fs::path absolute = fs::weakly_canonical(fs::absolute(path), error);
  const fs::path root = fs::weakly_canonical(fs::absolute(run_dir), error);
  const fs::path inside = absolute.lexically_relative(root);
  if (!inside.empty() && *inside.begin() != "..") return inside.string();
  return absolute.string();
}

std::string resolved_path(const std::string& stored, const std::string& run_dir) {
  if (stored.empty() || fs::path(stored).is_absolute()) return stored;
  return (fs::path(run_dir) / stored).lexically_normal().string();
}

nlohmann::json options_json(const TrainOptions& o) {
  const auto portable = [&o](const std::string& path) { return portable_path(path, o.run_dir); };
  return {{"preset", o.preset.find('/') == std::string::npos ? o.preset : portable(o.preset)},
          {"data", {{"demo", o.data.demo}, {"annotations", portable(o.data.annotations)},
                    {"images_dir", portable(o.data.images_dir)}, {"cache_dir", portable(o.data.cache_dir)},
                    {"max_images", o.data.max_images}, {"demo_images", o.data.demo_images}}},
          {"device", o.device}, {"t5_dir", portable(o.t5_dir)}, {"inception_weights", portable(o.inception_weights)},
          {"fid_samples", o.fid_samples},
          {"selection", o.selection == Selection::ValP2 ? "p2" : "p2+fid"}, {"max_steps", o.max_steps},
          {"max_minutes", o.max_minutes}, {"overfit_one_batch", o.overfit_one_batch}, {"overfit_images", o.overfit_images},
          {"seed", o.seed}, {"keep_last", o.keep_last}, {"preview_every", o.preview_every},
          {"probe_gallery", o.probe_gallery}, {"probe_prompts", o.probe_prompts},
          {"bf16", o.precision == runtime::Precision::Auto ? nlohmann::json("auto")
                                                           : nlohmann::json(o.precision == runtime::Precision::BFloat16)},
          {"activation_checkpointing", o.activation_checkpointing},
          {"collective_timeout_seconds", o.collective_timeout_seconds}};
}

// The inverse of options_json() for a run now in `run_dir`; a missing key keeps its default.
TrainOptions options_from_json(const nlohmann::json& j, const std::string& run_dir) {
  TrainOptions o;
  const auto path = [&run_dir](const nlohmann::json& object, const char* key) {
    return resolved_path(object.value(key, std::string()), run_dir);
  };
  o.preset = j.value("preset", o.preset);
  const nlohmann::json data = j.value("data", nlohmann::json::object());
  o.data.demo = data.value("demo", o.data.demo);
  o.data.annotations = path(data, "annotations");
  o.data.images_dir = path(data, "images_dir");
  o.data.cache_dir = path(data, "cache_dir");
  o.data.max_images = data.value("max_images", o.data.max_images);
  o.data.demo_images = data.value("demo_images", o.data.demo_images);
  o.run_dir = run_dir;
  o.resume = true;
  o.device = j.value("device", o.device);
  o.t5_dir = path(j, "t5_dir");
  o.inception_weights = path(j, "inception_weights");
  o.fid_samples = j.value("fid_samples", o.fid_samples);
  o.selection = j.value("selection", std::string("p2")) == "p2" ? Selection::ValP2 : Selection::ValP2AndFid;
  o.max_steps = j.value("max_steps", o.max_steps);
  o.max_minutes = j.value("max_minutes", o.max_minutes);
  o.overfit_one_batch = j.value("overfit_one_batch", o.overfit_one_batch);
  o.overfit_images = j.value("overfit_images", o.overfit_images);
  o.seed = j.value("seed", o.seed);
  o.keep_last = j.value("keep_last", o.keep_last);
  o.preview_every = j.value("preview_every", o.preview_every);
  o.probe_gallery = j.value("probe_gallery", o.probe_gallery);
  o.probe_prompts = j.value("probe_prompts", o.probe_prompts);
  if (const auto bf16 = j.find("bf16"); bf16 != j.end() && bf16->is_boolean())
    o.precision = bf16->get<bool>() ? runtime::Precision::BFloat16 : runtime::Precision::Float32;
  o.activation_checkpointing = j.value("activation_checkpointing", o.activation_checkpointing);
  o.collective_timeout_seconds = j.value("collective_timeout_seconds", o.collective_timeout_seconds);
  return o;
}

// Which stage of a cascade the run trains (run config 2.2).
nlohmann::json stage_json(const model::Preset& preset) {
  nlohmann::json stage{{"kind", preset.super_resolution() ? "super-resolution" : "base"}, {"image_size", preset.unet.image_size}};
  if (preset.super_resolution()) stage["low_res_size"] = preset.unet.low_res_size;
  return stage;
}

torch::Generator make_generator(std::uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

class Run {
public:
  Run(const TrainOptions& options, Observer& observer, const job::Context& job, const Pause* pause)
      : options_(options), observer_(observer), job_(job), pause_(pause), folder_(options.run_dir),
        device_(io::parse_device(options.device)), generator_(make_generator(options.seed)) {}

  Summary execute();

private:
  bool prepare_data();
  void build_model();
  void restore(const model::Checkpoint& checkpoint, const std::string& origin);
  void save_checkpoint(bool best);
  enum class StepOutcome { Done, Skipped, Cancelled, Exhausted };
  StepOutcome train_step();
  void evaluate();
  double validation_loss();
  /// The split evaluations and previews read: validation, or training when it holds no validation images.
  data::Split validation_split() const {
    return dataset_->images(data::Split::Val).empty() ? data::Split::Train : data::Split::Val;
  }
  void record_loss_by_noise();
  /// The first `count` captioned images of the evaluation split (of the overfit batch when there
  /// is one): the prompts of previews and probes, and a super-resolution stage's inputs.
  struct Examples {
    std::vector<std::string> prompts;
    torch::Tensor low_res;  ///< [n, 3, s, s] their low-resolution versions; undefined for a base model
  };
  Examples fixed_examples(std::size_t count) const;
  /// The low-resolution versions of images `positions` of `split`; undefined for a base model.
  torch::Tensor low_res_images(data::Split split, const std::vector<std::size_t>& positions) const;
  void start_probe_gallery();
  void record_probes();
  void preview();
  std::optional<std::string> stop_reason() const;
  double elapsed() const { return elapsed_before_ + std::chrono::duration<double>(Clock::now() - started_).count(); }
  void status(const std::string& message) {
    log::core()->info("{}", message);
    job_.status(message);
  }
  bool cancelled() const { return job_.cancelled(); }
  bool paused() const { return pause_ != nullptr && pause_->load(); }
  /// Rank 0 of a data-parallel run, or the only process: the one that writes the run folder.
  bool lead() const { return !parallel_ || parallel_->rank() == 0; }
  /// This rank's share of each evaluation (all of it for a single process).
  EvaluationShare evaluation_share() const { return parallel_ ? parallel_->evaluation_share() : EvaluationShare(); }
  /// What may cut an evaluation short: nothing for data-parallel ranks, whose evaluations are
  /// collectives (they stop together at the next agree_stop instead).
  const job::CancelToken* evaluation_cancel() const { return parallel_ ? nullptr : job_.cancel; }
  std::vector<torch::Tensor> shared_tensors() const;

  TrainOptions options_;
  Observer& observer_;
  const job::Context& job_;
  const Pause* pause_;
  RunFolder folder_;
  torch::Device device_;
  torch::Generator generator_;
  torch::Tensor resumed_global_rng_;  ///< the global CPU generator's state at the resumed step
  model::Preset preset_;
  std::string preset_json_;
  std::shared_ptr<const data::PreparedDataset> dataset_;
  std::string cache_dir_;
  std::unique_ptr<sample::TextToImageModel> model_;
  std::unique_ptr<AdamW> optimizer_;
  std::unique_ptr<Ema> ema_;
  std::unique_ptr<diffusion::DiffusionLoss> loss_;
  std::unique_ptr<TrainingLossBins> train_bins_;  ///< this process's training losses since the last evaluation
  std::unique_ptr<data::BatchLoader> loader_;
  std::optional<data::Batch> overfit_batch_;
  std::unique_ptr<FidHook> fid_;
  std::unique_ptr<ProbeRecorder> probes_;  ///< the lead's, when the run keeps a probe gallery
  torch::Tensor probe_low_res_;            ///< a super-resolution stage's inputs of its probe prompts
  std::unique_ptr<MemorisationMeter> memorisation_;  ///< measures the gallery's final images
  std::unique_ptr<DataParallel> parallel_;
  std::string fid_status_;

  std::int64_t step_ = 0;
  std::int64_t batches_consumed_ = 0;
  NonFiniteGuard nonfinite_{kMaxNonFiniteInARow};
  std::optional<BestCheckpoint> best_;  ///< made once the preset (and its early stop) is known
  std::string best_checkpoint_;
  std::string last_checkpoint_;
  double elapsed_before_ = 0;
  Clock::time_point started_ = Clock::now();
  double recent_step_seconds_ = 0;
};

bool Run::prepare_data() {
  cache_dir_ = data_folder(options_);
  const int size = preset_.unet.image_size;
  std::string prepared = data::prepared_folder(cache_dir_);
  std::string report_file = (std::filesystem::path(prepared) / data::kReportFileName).string();
  // A stage trains on the data its base model trained on: a folder prepared at the base's size
  // serves it when it holds the stage's size too (t2i data prepare --sizes); preparing it at the
  // stage's size instead would replace the base's cache.
  std::shared_ptr<const data::PreparedDataset> existing;
  if (preset_.super_resolution() && caches_built(cache_dir_)) existing = data::PreparedDataset::open(prepared);
  if (existing && existing->image_size() != size) {
    const std::vector<int> sizes = existing->image_sizes();
    if (std::find(sizes.begin(), sizes.end(), size) == sizes.end()) {
      std::string listed;
      for (const int s : sizes) listed += (listed.empty() ? "" : ",") + std::to_string(s);
      throw std::runtime_error(prepared + " holds the dataset at " + listed + " px but not at " + std::to_string(size) +
                               ", the size super-resolution stage " + preset_.name + " trains at: prepare it with `t2i data prepare "
                               "--annotations … --images … --sizes " + listed + "," + std::to_string(size) + " --out " + prepared + "`");
    }
    dataset_ = existing;
  } else {
    if (parallel_) parallel_->before_data();
    const DatasetSetup setup = prepare_dataset(options_, size, job_);
    if (parallel_) parallel_->after_data();
    if (setup.result.cancelled) return false;
    prepared = setup.result.cache_dir;
    report_file = setup.result.report_file;
    dataset_ = data::PreparedDataset::open(prepared);
  }
  const std::size_t train_images = dataset_->images(data::Split::Train).size();
  if (train_images == 0)
    throw std::runtime_error("the dataset has no usable training image (see " + report_file + ")");
  // A batch larger than the split repeats images, and a repeated image can never be "nearest its
  // own caption" in the overfit check: 8 images split 6/1/1 recalled at most 6 of 8.
  if (options_.overfit_one_batch && train_images < static_cast<std::size_t>(options_.overfit_images))
    throw std::runtime_error("the overfit check needs " + std::to_string(options_.overfit_images) +
                             " different images in its batch, but the training split of " + prepared + " has " +
                             std::to_string(train_images) + " (the others are held out for validation and test): add images or ask for " +
                             std::to_string(train_images) + " in the batch");
  status("Dataset: " + std::to_string(train_images) + " training / " +
         std::to_string(dataset_->images(data::Split::Val).size()) + " validation images, manifest " +
         dataset_->manifest_hash());
  return true;
}

void Run::build_model() {
  std::vector<std::string> train_captions;
  for (const auto& image : dataset_->images(data::Split::Train))
    for (std::size_t c : image.captions) train_captions.push_back(dataset_->captions()[c]);
  status(options_.t5_dir.empty() ? "Training the caption tokenizer for the learned text encoder"
                                 : "Loading the T5 encoder from " + options_.t5_dir);
  model_ = sample::TextToImageModel::create(preset_, preset_json_, sample::TextEncoderChoice{options_.t5_dir}, train_captions, device_);
}

void Run::restore(const model::Checkpoint& checkpoint, const std::string& origin) {
  const nlohmann::json& meta = checkpoint.meta;
  const std::string hash = meta.value("manifest_hash", "");
  if (hash != dataset_->manifest_hash())
    throw std::runtime_error(origin + " was trained on data with manifest " + hash + ", but the data now has " +
                             dataset_->manifest_hash() + ": resume with the same dataset");
  model_ = sample::TextToImageModel::from_checkpoint(checkpoint, origin, device_);
  step_ = meta.at("step").get<std::int64_t>();
  batches_consumed_ = meta.at("batches_consumed").get<std::int64_t>();
  nonfinite_.set_total(meta.value("skipped_nonfinite", std::int64_t{0}));
  best_->restore(meta.contains("best_val_p2") ? std::optional<double>(meta.at("best_val_p2").get<double>()) : std::nullopt,
                 meta.contains("best_fid") ? std::optional<double>(meta.at("best_fid").get<double>()) : std::nullopt,
                 meta.value("best_step", std::int64_t{0}));
  elapsed_before_ = meta.value("elapsed_seconds", 0.0);
  const auto generator_state = checkpoint.tensors.find("rng/trainer");
  const auto global_state = checkpoint.tensors.find("rng/torch_cpu");
  if (generator_state == checkpoint.tensors.end() || global_state == checkpoint.tensors.end())
    throw std::runtime_error(origin + ": random-number states missing");
  generator_.set_state(generator_state->second.clone());
  // Applied just before the first step: setting up the run (model init, loaders) draws from it.
  resumed_global_rng_ = global_state->second.clone();
  status("Resumed " + origin + " at step " + std::to_string(step_));
}

void Run::save_checkpoint(bool best) {
  model::Checkpoint checkpoint;
  model_->save_to(checkpoint);
  checkpoint.put("optim", optimizer_->state());
  checkpoint.tensors["rng/trainer"] = generator_.get_state();
  checkpoint.tensors["rng/torch_cpu"] = at::detail::getDefaultCPUGenerator().get_state();
  nlohmann::json& meta = checkpoint.meta;
  meta["step"] = step_;
  meta["batches_consumed"] = batches_consumed_;
  meta["optimizer_steps"] = optimizer_->steps();
  meta["ema_updates"] = ema_->updates();
  meta["skipped_nonfinite"] = nonfinite_.total();
  meta["manifest_hash"] = dataset_->manifest_hash();
  meta["elapsed_seconds"] = elapsed();
  meta["options"] = options_json(options_);
  meta["best_step"] = best_->step();
  if (best_->val_p2()) meta["best_val_p2"] = *best_->val_p2();
  if (best_->fid()) meta["best_fid"] = *best_->fid();

  const std::string path = folder_.checkpoint_path(step_);
  model::write_checkpoint(path, checkpoint);
  last_checkpoint_ = path;
  folder_.prune_checkpoints(options_.keep_last);
  folder_.append_metrics({{"event", "checkpoint"}, {"step", step_}, {"path", folder_.relative(path)}, {"best", false}});
  observer_.on_checkpoint(path, false);
  if (best) {
    model::write_checkpoint(folder_.best_checkpoint_path(), checkpoint);
    best_checkpoint_ = folder_.best_checkpoint_path();
    folder_.append_metrics({{"event", "checkpoint"}, {"step", step_}, {"path", folder_.relative(best_checkpoint_)}, {"best", true}});
    observer_.on_checkpoint(best_checkpoint_, true);
  }
}

Run::StepOutcome Run::train_step() {
  std::optional<data::Batch> batch = overfit_batch_ ? overfit_batch_ : loader_->next();
  if (!batch) return cancelled() ? StepOutcome::Cancelled : StepOutcome::Exhausted;
  const auto start = Clock::now();
  const torch::Tensor generator_state = generator_.get_state();

  const torch::Tensor global_x_0 = batch->images.to(device_);
  const std::int64_t b = global_x_0.size(0);
  // One draw for the whole global batch, sliced per rank and micro-batch: accumulation and data
  // parallelism then train exactly one batch of B, with the same draws for any world size.
  const diffusion::LossDraw global_draw = loss_->draw(global_x_0, generator_);
  const torch::Tensor global_drop = draw_text_drop(b, preset_.training.cond_drop_prob, generator_);
  const model::LowResCondition global_low_res = stage_condition(preset_, loss_->schedule(), global_x_0, generator_);
  const auto [first, last] = parallel_ ? parallel_->shard(b) : std::pair<std::int64_t, std::int64_t>{0, b};
  const torch::Tensor x_0 = global_x_0.slice(0, first, last);
  const diffusion::LossDraw draw{global_draw.t.slice(0, first, last), global_draw.noise.slice(0, first, last)};
  const torch::Tensor drop = global_drop.slice(0, first, last);
  std::vector<std::string> captions;
  const auto indices = batch->caption_index.accessor<std::int64_t, 1>();
  for (std::int64_t i = first; i < last; ++i) captions.push_back(dataset_->captions()[static_cast<size_t>(indices[i])]);

  model_->set_train_mode(true);
  optimizer_->zero_grad();
  // Ranks check for a stop together between steps (DataParallel::agree_stop): one that left a step
  // early would leave the others waiting in the gradient all-reduce.
  // Binned only once the step is applied: a cancelled or non-finite step never happened.
  std::vector<diffusion::LossTerms> step_terms;
  const std::optional<double> batch_loss =
      accumulate_gradients(*model_, *loss_, x_0, captions, draw, drop, slice(global_low_res, first, last), preset_.max_batch_size,
                           parallel_ ? nullptr : job_.cancel, [this] { if (parallel_) parallel_->arm(); },
                           [&step_terms](const diffusion::LossTerms& terms) {
                             step_terms.push_back({terms.t.detach(), terms.mse.detach(), terms.weight.detach(),
                                                   terms.weighted.detach(), torch::Tensor()});
                           });
  if (!batch_loss) {
    optimizer_->zero_grad();
    generator_.set_state(generator_state);  // the unfinished step never happened
    return StepOutcome::Cancelled;
  }
  ++batches_consumed_;

  std::vector<torch::Tensor> parameters;
  for (const auto& [name, p] : model_->trained_parameters()) parameters.push_back(p);
  const double shard_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const double loss_sum = parallel_ ? parallel_->average(*batch_loss, shard_seconds) : *batch_loss;
  const double grad_norm = torch::nn::utils::clip_grad_norm_(parameters, kGradClip);
  if (!nonfinite_.accept(loss_sum, grad_norm)) {
    optimizer_->zero_grad();
    if (nonfinite_.exhausted())
      throw std::runtime_error("training diverged: " + std::to_string(nonfinite_.limit()) +
                               " non-finite losses in a row at step " + std::to_string(step_) +
                               (last_checkpoint_.empty() ? "" : "; the last good checkpoint is " + last_checkpoint_));
    log::core()->warn("non-finite loss at step {}: step skipped ({} so far)", step_, nonfinite_.total());
    return StepOutcome::Skipped;
  }
  // Linear warm-up: lr_n = lr · min(1, n / warmup), n the 1-based optimiser step.
  const double warmup = preset_.training.warmup_steps;
  const double lr = preset_.training.learning_rate *
                    (warmup > 0 ? std::min(1.0, static_cast<double>(optimizer_->steps() + 1) / warmup) : 1.0);
  optimizer_->step(lr);
  ema_->update();
  ++step_;
  for (const diffusion::LossTerms& terms : step_terms) train_bins_->add(terms);

  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  recent_step_seconds_ = recent_step_seconds_ == 0 ? seconds : 0.9 * recent_step_seconds_ + 0.1 * seconds;
  StepMetrics m;
  m.step = step_;
  m.train_loss = loss_sum;
  m.learning_rate = lr;
  m.grad_norm = grad_norm;
  m.images_per_second = static_cast<double>(b) / seconds;
  m.elapsed_seconds = elapsed();
  m.skipped_nonfinite = nonfinite_.total();
  if (parallel_) {
    m.allreduce_bytes = parallel_->bytes_last_step().total;
    m.allreduce_overlapped_bytes = parallel_->bytes_last_step().overlapped;
    for (const double rank_seconds : parallel_->rank_seconds_last_step())
      m.rank_images_per_second.push_back(static_cast<double>(last - first) / rank_seconds);
  }
  if (options_.max_steps > 0) m.eta_seconds = static_cast<double>(options_.max_steps - step_) * recent_step_seconds_;
  if (options_.max_minutes > 0) {
    const double left = options_.max_minutes * 60 - m.elapsed_seconds;
    m.eta_seconds = m.eta_seconds < 0 ? left : std::min(m.eta_seconds, left);
  }
  if (!lead()) return StepOutcome::Done;
  nlohmann::json event{{"event", "step"}, {"step", m.step}, {"train_loss", m.train_loss}, {"lr", m.learning_rate},
                       {"grad_norm", m.grad_norm}, {"images_per_second", m.images_per_second},
                       {"elapsed", m.elapsed_seconds}, {"skipped_nonfinite", m.skipped_nonfinite}};
  if (parallel_) {
    event["allreduce_bytes"] = m.allreduce_bytes;
    event["allreduce_overlapped_bytes"] = m.allreduce_overlapped_bytes;
    event["rank_images_per_second"] = m.rank_images_per_second;
  }
  folder_.append_metrics(event);
  observer_.on_step(m);
  return StepOutcome::Done;
}

double Run::validation_loss() {
  return validation_p2(*model_, *loss_, dataset_, validation_split(), preset_.eval_val_steps, preset_.batch_size,
                       std::int64_t{preset_.max_batch_size} * 2, overfit_batch_, evaluation_cancel(), evaluation_share());
}

// Loss by noise level (t2i/loss_by_noise.h) at step 0 and every evaluation, on rank 0 (like FID):
// the training bins are rank 0's share of each batch, since summing the ranks' would cost a
// collective of its own.
void Run::record_loss_by_noise() {
  if (!lead() || cancelled()) return;
  LossByNoise event;
  event.step = step_;
  validation_by_noise(*model_, *loss_, dataset_, validation_split(), preset_.batch_size, std::int64_t{preset_.max_batch_size} * 2,
                      overfit_batch_, event, job_.cancel);
  if (cancelled()) return;
  train_bins_->take(event);
  folder_.append_metrics(to_json(event));
}

Run::Examples Run::fixed_examples(std::size_t count) const {
  Examples examples;
  if (overfit_batch_) {
    const auto indices = overfit_batch_->caption_index.accessor<std::int64_t, 1>();
    for (std::int64_t i = 0; i < indices.size(0) && examples.prompts.size() < count; ++i)
      examples.prompts.push_back(dataset_->captions()[static_cast<size_t>(indices[i])]);
    if (preset_.super_resolution())
      examples.low_res = low_res_of(preset_, overfit_batch_->images.slice(0, 0, static_cast<std::int64_t>(examples.prompts.size())));
  } else {
    const auto& images = dataset_->images(validation_split());
    std::vector<std::size_t> positions;
    for (std::size_t i = 0; i < images.size() && examples.prompts.size() < count; ++i) {
      if (images[i].captions.empty()) continue;
      examples.prompts.push_back(dataset_->captions()[images[i].captions.front()]);
      positions.push_back(i);
    }
    examples.low_res = low_res_images(validation_split(), positions);
  }
  return examples;
}

torch::Tensor Run::low_res_images(data::Split split, const std::vector<std::size_t>& positions) const {
  if (!preset_.super_resolution()) return {};
  return data::image_pairs(*dataset_, split, positions, preset_.unet.image_size, preset_.unet.low_res_size).low;
}

// Probes are sampled like previews (same sampler steps), by the process that writes the folder.
void Run::start_probe_gallery() {
  if (!lead() || !options_.probe_gallery) return;
  Examples examples = fixed_examples(kProbeCaptions);
  std::vector<std::string> prompts = std::move(examples.prompts);
  probe_low_res_ = examples.low_res;
  if (!preset_.super_resolution())
    prompts.insert(prompts.end(), options_.probe_prompts.begin(), options_.probe_prompts.end());
  else if (!options_.probe_prompts.empty())
    status("The probe gallery skips the " + std::to_string(options_.probe_prompts.size()) +
           " probe prompt(s) given: super-resolution stage " + preset_.name + " enlarges images, and only the validation "
           "captions come with one");
  std::string note;
  probes_ = std::make_unique<ProbeRecorder>(
      folder_, plan_probe_gallery(std::move(prompts), sample::sampling_steps_for(preset_, kPreviewSteps), preset_.unet.image_size),
      options_.resume ? std::optional<std::int64_t>(step_) : std::nullopt, note);
  if (!note.empty()) status(note);
  // A stage's probes enlarge validation images, so their nearness to training images says nothing
  // of memorisation; the curve is a base model's.
  if (preset_.super_resolution()) return;
  evaluate::NeighbourOptions neighbours;
  neighbours.inception_weights = options_.inception_weights;
  neighbours.device = options_.device;
  memorisation_ = MemorisationMeter::start(folder_, data::prepared_folder(cache_dir_), neighbours, job_);
}

void Run::record_probes() {
  if (!probes_ || cancelled()) return;
  status("Sampling the probe gallery at step " + std::to_string(step_) + " (" +
         std::to_string(probes_->gallery().probe_count()) + " probes)");
  if (probes_->record(*model_, step_, job_.cancel, probe_low_res_) && memorisation_)
    memorisation_->record(folder_, step_, probes_->final_images());
}

void Run::preview() {
  const Examples examples = fixed_examples(kPreviewImages);
  const std::vector<std::string>& prompts = examples.prompts;
  std::vector<std::uint64_t> seeds;
  for (size_t i = 0; i < prompts.size(); ++i) seeds.push_back(i);
  sample::SamplingSettings settings;
  settings.guidance = preset_.cond_scale;
  settings.steps = sample::sampling_steps_for(preset_, kPreviewSteps);
  settings.low_res = examples.low_res;
  try {
    const torch::Tensor images = sample::sample_images(*model_, prompts, seeds, settings, {}, job_.cancel);
    auto snapshot = std::make_shared<job::Snapshot>(job::Snapshot{sample::image_grid(images, 4), prompts});
    const std::string path = folder_.preview_path(step_);
    sample::write_png(path, snapshot->image, {{"step", std::to_string(step_)}});
    folder_.append_metrics({{"event", "preview"}, {"step", step_}, {"path", folder_.relative(path)}, {"prompts", prompts}});
    job::Progress progress;
    progress.message = "Samples at step " + std::to_string(step_);
    progress.step = step_;
    progress.snapshot = std::move(snapshot);
    job_.report(progress);
  } catch (const diffusion::SamplingCancelled&) {
  }
}

void Run::evaluate() {
  EvalMetrics m;
  m.step = step_;
  m.val_p2 = validation_loss();
  if (job::cancelled(evaluation_cancel())) return;
  record_loss_by_noise();
  record_probes();
  if (fid_) {
    status("Computing FID on " + std::to_string(fid_->samples()) + " validation samples");
    // FID samples come from the validation captions with fixed seeds, so evaluations compare; a
    // super-resolution stage enlarges the low-resolution versions of those captions' images.
    std::vector<std::string> prompts;
    std::vector<std::size_t> positions;
    const auto& validation = dataset_->images(data::Split::Val);
    for (std::size_t i = 0; i < validation.size(); ++i) {
      if (validation[i].captions.empty()) continue;
      prompts.push_back(dataset_->captions()[validation[i].captions.front()]);
      positions.push_back(i);
    }
    if (prompts.empty()) {
      prompts.push_back("");
      positions.push_back(0);
    }
    sample::SamplingSettings settings;
    settings.guidance = preset_.cond_scale;
    settings.steps = sample::sampling_steps_for(preset_, settings.steps);
    const auto [own_first, own_last] = evaluation_share().range(fid_->samples());
    FidScores scores;
    try {
      scores = fid_->score([&, own_first = own_first, own_last = own_last](std::int64_t first, std::int64_t count) {
        std::vector<std::string> batch_prompts;
        std::vector<std::size_t> batch_positions;
        std::vector<std::uint64_t> seeds;
        for (std::int64_t i = first; i < first + count; ++i) {
          batch_prompts.push_back(prompts[static_cast<size_t>(i) % prompts.size()]);
          batch_positions.push_back(positions[static_cast<size_t>(i) % positions.size()]);
          seeds.push_back(static_cast<std::uint64_t>(i));
        }
        sample::SamplingSettings batch_settings = settings;
        batch_settings.low_res = low_res_images(data::Split::Val, batch_positions);
        torch::Tensor images = sample::sample_images(*model_, batch_prompts, seeds, batch_settings, {}, evaluation_cancel());
        job_.count("FID samples", first + count - own_first, own_last - own_first);
        return images;
      }, evaluation_share());
    } catch (const diffusion::SamplingCancelled&) {
      return;  // stopped within a batch of samples: the run ends with a checkpoint, this evaluation unrecorded
    }
    m.fid = scores.fid;
    m.kid = scores.kid;
    m.fid_status = scores.note;
  } else {
    m.fid_status = fid_status_;
  }
  if (!lead()) return;  // the lead records the evaluation and keeps the best checkpoint
  m.improved = best_->record(step_, m.val_p2, m.fid);
  m.steps_without_improvement = best_->steps_without_improvement(step_);
  m.early_stop_in = best_->early_stop_in(step_);
  nlohmann::json event{{"event", "eval"}, {"step", m.step}, {"val_p2", m.val_p2}, {"improved", m.improved},
                       {"steps_without_improvement", m.steps_without_improvement}, {"early_stop_in", m.early_stop_in},
                       {"fid_status", m.fid_status}};
  if (m.fid) event["fid"] = *m.fid;
  if (m.kid) event["kid"] = *m.kid;
  folder_.append_metrics(event);
  observer_.on_eval(m);
  save_checkpoint(m.improved);
}

std::optional<std::string> Run::stop_reason() const {
  if (cancelled()) return "cancelled";
  if (options_.max_steps > 0 && step_ >= options_.max_steps) return "max steps";
  if (options_.max_minutes > 0 && elapsed() >= options_.max_minutes * 60) return "time limit";
  if (best_->early_stop_due(step_)) return "early stop";
  return std::nullopt;
}

// What every rank must hold equal to rank 0's: the trained weights and their EMA copies.
std::vector<torch::Tensor> Run::shared_tensors() const {
  std::vector<torch::Tensor> tensors;
  for (const auto& [name, p] : model_->trained_parameters()) tensors.push_back(p);
  for (const torch::Tensor& p : model_->ema_parameters()) tensors.push_back(p);
  return tensors;
}

Summary Run::execute() {
  // Rendezvous first: no rank writes anything before every rank has seen the folder as it was.
  parallel_ = DataParallel::from_environment(device_, std::chrono::seconds(options_.collective_timeout_seconds));
  if (parallel_) {
    device_ = parallel_->device();
    status("Rank " + std::to_string(parallel_->rank()) + " of " + std::to_string(parallel_->world_size()) +
             ": trains 1/" + std::to_string(parallel_->world_size()) + " of each batch" +
             (lead() ? "; writes the run folder" : ""));
  }
  if (const int removed = lead() ? folder_.remove_abandoned_writes() : 0; removed > 0)
    status("Removed " + std::to_string(removed) + " unfinished file(s) that an interrupted run left in " + options_.run_dir);
  const auto existing = folder_.latest_checkpoint();
  if (!options_.resume && existing)
    throw std::runtime_error(options_.run_dir + " already holds checkpoints (" + *existing +
                             "): resume it, or choose another run folder");
  if (options_.resume && !existing) throw std::runtime_error("nothing to resume: " + options_.run_dir + " has no checkpoint");

  std::optional<model::Checkpoint> resumed;
  if (options_.resume) {
    // The run's own preset and data, from its checkpoint: a resumed run needs only its folder.
    resumed = model::read_checkpoint(*existing);
    const TrainOptions stored = options_from_json(resumed->meta.value("options", nlohmann::json::object()), options_.run_dir);
    if (!options_.data.demo && options_.data.annotations.empty()) options_.data = stored.data;
    if (portable_path(stored.t5_dir, options_.run_dir) != portable_path(options_.t5_dir, options_.run_dir))
      throw std::runtime_error(*existing + " was trained with text encoder \"" + stored.t5_dir +
                               "\" (empty = learned); resume with the same --t5");
    preset_ = model::stored_preset(resumed->meta, *existing);
  } else {
    preset_ = model::find_preset(options_.preset);
  }
  preset_json_ = model::preset_to_json(preset_);

  Summary summary;
  if (!prepare_data()) {
    summary.stop_reason = "cancelled";
    return summary;
  }
  best_.emplace(options_.selection, preset_.early_stop);
  if (resumed) {
    restore(*resumed, *existing);
    if (lead()) folder_.truncate_metrics_after(step_);
  } else {
    // Only a run that died before its first checkpoint leaves events in a folder a fresh run may
    // use: this run redoes those steps, so they would be logged twice.
    if (lead()) folder_.clear_metrics();
    // Module initialisation and dropout draw from the global generator: seed it so a run is reproducible.
    torch::manual_seed(options_.seed);
    build_model();
  }
  if (model_->frozen_encoder() != nullptr) {
    status("Caching T5 embeddings of every caption");
    text::CacheBuildSettings cache;
    cache.max_len = preset_.max_text_length;
    const std::string path = text_cache_path(cache_dir_);
    if (text::build_embedding_cache(*model_->frozen_encoder(), dataset_->captions(), path, cache, job_).cancelled) {
      summary.stop_reason = "cancelled";
      return summary;
    }
    model_->use_embedding_cache(text::EmbeddingCache::open(path));
  }

  model::ExecutionOptions execution = model::default_execution(device_.is_cuda() ? "cuda" : "cpu");
  if (options_.precision != runtime::Precision::Auto) execution.precision = options_.precision;
  execution.checkpoint = options_.activation_checkpointing;
  model_->set_execution(execution);
  if (parallel_) {
    parallel_->broadcast(shared_tensors());
    std::vector<torch::Tensor> trained;
    for (const auto& [name, p] : model_->trained_parameters()) trained.push_back(p);
    parallel_->share_gradients_of(std::move(trained), !execution.checkpoint);
  }

  AdamWOptions adam{preset_.training.learning_rate, preset_.training.beta1, preset_.training.beta2, 1e-8,
                    preset_.training.weight_decay};
  optimizer_ = std::make_unique<AdamW>(model_->trained_parameters(), adam);
  std::vector<torch::Tensor> online;
  for (const auto& [name, p] : model_->trained_parameters()) online.push_back(p);
  ema_ = std::make_unique<Ema>(model_->ema_parameters(), online, preset_.training.ema_decay);
  if (resumed) {
    optimizer_->load_state(resumed->group("optim"), resumed->meta.at("optimizer_steps").get<std::int64_t>());
    ema_->set_updates(resumed->meta.at("ema_updates").get<std::int64_t>());
    resumed.reset();
  }
  loss_ = std::make_unique<diffusion::DiffusionLoss>(p2_loss(preset_));
  train_bins_ = std::make_unique<TrainingLossBins>(loss_->schedule());

  data::BatchOptions batch_options;
  batch_options.batch_size = options_.overfit_one_batch ? options_.overfit_images : preset_.batch_size;
  batch_options.seed = options_.seed;
  batch_options.image_size = preset_.unet.image_size;
  batch_options.first_batch = batches_consumed_;
  batch_options.cancel = job_.cancel;
  loader_ = std::make_unique<data::BatchLoader>(dataset_, data::Split::Train, batch_options);
  if (options_.overfit_one_batch) {
    overfit_batch_ = loader_->batch_at(0);
    loader_->stop();
  }
  // Every rank samples its share of FID's images. The reference statistics are cached beside the
  // data, so they are made like it: by local rank 0 first, which ranks then wait for together.
  try {
    job::Context fid_job = job_;
    fid_job.cancel = evaluation_cancel();
    if (parallel_) parallel_->before_data();
    fid_ = make_fid_hook(options_.inception_weights, options_.device, options_.fid_samples, *dataset_, preset_.unet.image_size, cache_dir_,
                         fid_status_, fid_job);
    if (parallel_) parallel_->after_data();
  } catch (const eval::FidCancelled&) {
    summary.stop_reason = "cancelled";
    return summary;
  }

  nlohmann::json config{{"options", options_json(options_)},
                        {"preset", nlohmann::json::parse(preset_json_)},
                        {"runtime", nlohmann::json::parse(runtime::to_json(runtime::report()))},
                        {"execution", {{"precision", runtime::to_string(execution.precision)},
                                       {"channels_last", execution.channels_last},
                                       {"checkpointing", execution.checkpoint}}},
                        {"parameters", model_->parameter_count()},
                        {"text_encoder", model_->text_encoder_name()},
                        {"manifest_hash", dataset_->manifest_hash()},
                        {"stage", stage_json(preset_)}};
  if (parallel_) config["world_size"] = parallel_->world_size();
  if (lead()) folder_.write_config(config);
  start_probe_gallery();
  status("Training " + preset_.name + " (" + std::to_string(model_->parameter_count()) + " parameters, " +
         runtime::to_string(execution.precision) + (execution.channels_last ? ", channels-last" : "") + ") on " +
         device_.str() + "; FID: " + (fid_ ? "on" : fid_status_));

  if (resumed_global_rng_.defined()) {
    at::Generator global = at::detail::getDefaultCPUGenerator();
    global.set_state(resumed_global_rng_);
  }
  if (step_ == 0 && !options_.resume) {  // the untrained model's, the reference point
    record_loss_by_noise();
    record_probes();
  }
  started_ = Clock::now();
  const auto evaluation_due = [this] { return is_evaluation_step(step_, preset_.eval_every); };
  const auto preview_due = [&] {
    return options_.preview_every > 0 ? step_ % options_.preview_every == 0 : evaluation_due();
  };
  std::optional<std::string> reason;
  while (!(reason = parallel_ ? parallel_->agree_stop(lead() ? stop_reason() : std::nullopt, cancelled()) : stop_reason())) {
    if (paused() && !parallel_) {
      status("Paused at step " + std::to_string(step_));
      while (paused() && !cancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (!cancelled()) status("Resumed at step " + std::to_string(step_));
      continue;
    }
    const StepOutcome outcome = train_step();
    if (outcome == StepOutcome::Exhausted) {
      reason = "data exhausted";
      break;
    }
    if (outcome != StepOutcome::Done) continue;
    if (evaluation_due()) evaluate();
    if (lead() && preview_due() && !cancelled()) preview();
  }
  // A run that ends between evaluations is evaluated once more, so its best checkpoint (and its
  // curves) include the last steps; a cancelled one stops at once.
  const bool cancelled_run = parallel_ ? *reason == "cancelled" : cancelled();
  if (!cancelled_run && step_ > 0 && !evaluation_due()) evaluate();
  if (lead() && last_checkpoint_ != folder_.checkpoint_path(step_)) save_checkpoint(false);
  summary.steps = step_;
  summary.stop_reason = *reason;
  summary.best_val_p2 = best_->val_p2();
  summary.best_checkpoint = best_checkpoint_;
  summary.last_checkpoint = last_checkpoint_;
  status("Stopped after " + std::to_string(step_) + " steps: " + *reason);
  return summary;
}

} // namespace

Summary run(const TrainOptions& options, Observer& observer, const job::Context& job, const Pause* pause) {
  if (options.run_dir.empty()) throw std::runtime_error("no run folder given");
  Run run(options, observer, job, pause);
  return run.execute();
}

TrainOptions stored_options(const std::string& run_dir) {
  const RunFolder folder(run_dir, /*create=*/false);
  const auto latest = folder.latest_checkpoint();
  if (!latest) throw std::runtime_error("nothing to resume: " + run_dir + " has no checkpoint");
  return options_from_json(model::read_checkpoint_meta(*latest).value("options", nlohmann::json::object()), run_dir);
}

} // namespace t2i::train
