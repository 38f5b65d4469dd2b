#include "commands.h"
#include "launch.h"
#include "terminal_job.h"

#include "t2i/runs.h"
#include "t2i/train.h"

#include <cstdio>
#include <string>
#include <functional>
#include <iostream>
#include <utility>
#include <vector>

namespace t2i::cli {
namespace {

std::string clock_text(double seconds) {
  if (seconds < 0) return "--:--";
  const long total = static_cast<long>(seconds + 0.5);
  char text[32];
  if (total >= 3600)
    std::snprintf(text, sizeof(text), "%ld:%02ld:%02ld", total / 3600, (total / 60) % 60, total % 60);
  else
    std::snprintf(text, sizeof(text), "%02ld:%02ld", total / 60, total % 60);
  return text;
}

/// A data-parallel run's throughput of each rank ("  per rank 6.1 6.0 img/s"), which shows a
/// slow machine or an oversubscribed core; empty for one process.
std::string per_rank(const std::vector<double>& images_per_second) {
  if (images_per_second.empty()) return {};
  std::string text = "  per rank";
  for (const double rate : images_per_second) {
    char number[32];
    std::snprintf(number, sizeof(number), " %.1f", rate);
    text += number;
  }
  return text + " img/s";
}

/// The run's measurements on the command's progress line: every step on a terminal, every 10th
/// otherwise.
class ProgressPrinter : public train::Observer {
public:
  explicit ProgressPrinter(ProgressLine& line) : line_(line) {}

  void on_step(const train::StepMetrics& m) override {
    char text[200];
    std::snprintf(text, sizeof(text), "step %lld  loss %.4f  %.1f img/s  lr %.2g  elapsed %s  ETA %s",
                  static_cast<long long>(m.step), m.train_loss, m.images_per_second, m.learning_rate,
                  clock_text(m.elapsed_seconds).c_str(), clock_text(m.eta_seconds).c_str());
    line_.show(text + per_rank(m.rank_images_per_second), !line_.terminal() && m.step % 10 == 0);
  }

  void on_eval(const train::EvalMetrics& m) override {
    char text[240];
    std::snprintf(text, sizeof(text), "eval at step %lld: val P2 %.5f%s  FID %s%s", static_cast<long long>(m.step),
                  m.val_p2, m.improved ? " (best)" : "", m.fid ? std::to_string(*m.fid).c_str() : "n/a",
                  m.early_stop_in >= 0 ? ("  early stop in " + std::to_string(m.early_stop_in)).c_str() : "");
    line_.show(text, true);
  }

  void on_checkpoint(const std::string& path, bool best) override {
    line_.show(std::string(best ? "best checkpoint " : "checkpoint ") + path, true);
  }

private:
  ProgressLine& line_;
};

/// `--resume`: the run folder's stored options, with each flag given again taking over (and saying so).
train::TrainOptions resumed_options(const CLI::App& cmd, const train::TrainOptions& given) {
  train::TrainOptions options = train::stored_options(given.run_dir);
  const auto from_flags = [&](const char* flag, const std::function<void()>& take) {
    if (cmd.count(flag) == 0) return;
    take();
    std::cerr << "note: " << flag << " given again: it overrides the run's stored setting\n";
  };
  if (cmd.count("--preset") > 0)
    std::cerr << "note: --preset ignored: a resumed run keeps the preset its checkpoint stores\n";
  const bool data_given = cmd.count("--demo") + cmd.count("--annotations") + cmd.count("--images") + cmd.count("--cache") +
                              cmd.count("--max-images") + cmd.count("--demo-images") > 0;
  if (data_given) {
    options.data = given.data;
    std::cerr << "note: data flags given again: they replace the run's stored data source\n";
  }
  from_flags("--device", [&] { options.device = given.device; });
  from_flags("--t5", [&] { options.t5_dir = given.t5_dir; });
  from_flags("--inception", [&] { options.inception_weights = given.inception_weights; });
  from_flags("--fid-samples", [&] { options.fid_samples = given.fid_samples; });
  from_flags("--select", [&] { options.selection = given.selection; });
  from_flags("--max-steps", [&] { options.max_steps = given.max_steps; });
  from_flags("--max-minutes", [&] { options.max_minutes = given.max_minutes; });
  from_flags("--overfit-one-batch", [&] { options.overfit_one_batch = given.overfit_one_batch; });
  from_flags("--overfit-images", [&] { options.overfit_images = given.overfit_images; });
  from_flags("--seed", [&] { options.seed = given.seed; });
  from_flags("--keep", [&] { options.keep_last = given.keep_last; });
  from_flags("--preview-every", [&] { options.preview_every = given.preview_every; });
  from_flags("--probe-prompt", [&] { options.probe_prompts = given.probe_prompts; });
  from_flags("--no-probes", [&] { options.probe_gallery = given.probe_gallery; });
  from_flags("--bf16", [&] { options.precision = given.precision; });
  from_flags("--checkpointing", [&] { options.activation_checkpointing = given.activation_checkpointing; });
  from_flags("--timeout", [&] { options.collective_timeout_seconds = given.collective_timeout_seconds; });
  return options;
}

} // namespace

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a model (Ctrl+C stops after the current step and saves)");
  auto options = std::make_shared<train::TrainOptions>();
  auto select = std::make_shared<std::string>("p2");
  auto bf16 = std::make_shared<std::string>("auto");
  cmd->add_option("--preset", options->preset, preset_option_help())
      ->capture_default_str();
  auto* demo = cmd->add_flag("--demo", options->data.demo, "Train on the built-in demo dataset");
  auto* annotations = cmd->add_option("--annotations", options->data.annotations, "Caption file, by its extension: " + caption_formats_help())
                          ->check(CLI::ExistingFile);
  cmd->add_option("--images", options->data.images_dir, "Folder of the annotations' images")
      ->check(CLI::ExistingDirectory)
      ->needs(annotations);
  annotations->excludes(demo);
  cmd->add_option("--max-images", options->data.max_images, "Images used before the 75/15/10 split")
      ->check(CLI::Range(10, 10000000))
      ->capture_default_str();
  cmd->add_option("--demo-images", options->data.demo_images, "Images generated for the demo dataset")
      ->check(CLI::Range(10, 1000000))
      ->capture_default_str();
  cmd->add_option("--cache", options->data.cache_dir, "Data cache folder (default: <out>/data)");
  cmd->add_option("--out", options->run_dir, "Run folder (config, metrics, previews, checkpoints)")->required();
  cmd->add_flag("--resume", options->resume,
                "Continue exactly from the run folder's latest checkpoint, with its preset, data and options "
                "(flags given again override them)");
  cmd->add_option("--device", options->device, "cpu or cuda[:N]")->capture_default_str();
  cmd->add_option("--t5", options->t5_dir, "Hugging Face T5 folder (default: a text encoder learned jointly)")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--inception", options->inception_weights, "FID Inception weights (pt_inception-2015-12-05-6726825d.pth)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--fid-samples", options->fid_samples, "Generated validation samples scored per evaluation")
      ->check(CLI::Range(2, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--select", *select, "Best checkpoint by validation P2 loss, or P2 and FID")
      ->check(CLI::IsMember({"p2", "p2+fid"}))
      ->capture_default_str();
  cmd->add_option("--max-steps", options->max_steps, "Stop after this many optimizer steps (0: early stopping)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 40));
  cmd->add_option("--max-minutes", options->max_minutes, "Stop after this much training time")->check(CLI::Range(0.0, 1e7));
  cmd->add_flag("--overfit-one-batch", options->overfit_one_batch, "Train on one fixed batch (the paper's sanity check)");
  cmd->add_option("--overfit-images", options->overfit_images, "Images in that batch")->check(CLI::Range(1, 1024));
  cmd->add_option("--seed", options->seed, "Random seed")->capture_default_str();
  cmd->add_option("--keep", options->keep_last, "Step checkpoints kept besides the best")->check(CLI::Range(1, 1000));
  cmd->add_option("--preview-every", options->preview_every, "Steps between preview grids (0: at each evaluation)")
      ->check(CLI::Range(0, 1 << 30));
  auto no_probes = std::make_shared<bool>(false);
  cmd->add_option("--probe-prompt", options->probe_prompts,
                  "A probe prompt besides the validation captions (repeat for more): the probe gallery samples "
                  "each with 2 seeds at guidance 1, 4 and 7 at step 0 and every evaluation (`t2i runs gallery`)")
      ->allow_extra_args(false);
  cmd->add_flag("--no-probes", *no_probes, "Keep no probe gallery (it costs sampling time at every evaluation)");
  cmd->add_option("--bf16", *bf16, "bf16 autocast: auto, on or off")->check(CLI::IsMember({"auto", "on", "off"}));
  cmd->add_flag("--checkpointing", options->activation_checkpointing, "Recompute activations in backward (less memory)");
  cmd->add_option("--timeout", options->collective_timeout_seconds,
                  "Data-parallel runs: seconds a process waits for the others before the run stops naming "
                  "the ones that did not answer (a process that dies is noticed at once)")
      ->check(CLI::Range(1, 1 << 24))
      ->capture_default_str();
  auto nproc = std::make_shared<int>(1);
  cmd->add_option("--nproc", *nproc,
                  "Data-parallel worker processes on this machine (each trains 1/N of every batch; "
                  "under torchrun or with WORLD_SIZE set this is ignored)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();

  cmd->callback([cmd, options, select, bf16, nproc, no_probes] {
    if (*nproc > 1 && !launched_as_worker()) {
      launch_local_workers(*nproc);
      return;
    }
    options->selection = *select == "p2" ? train::Selection::ValP2 : train::Selection::ValP2AndFid;
    if (*bf16 != "auto") options->precision = *bf16 == "on" ? runtime::Precision::BFloat16 : runtime::Precision::Float32;
    options->probe_gallery = !*no_probes;
    if (options->resume) {
      *options = resumed_options(*cmd, *options);
    } else if (!options->data.demo && options->data.annotations.empty()) {
      throw CliExit(2, "train: give --demo or --annotations FILE --images DIR");
    }
    TerminalJob job;
    ProgressPrinter printer(job.line());
    const train::Summary summary = train::run(*options, printer, job.context());
    std::cout << "stopped after " << summary.steps << " steps: " << summary.stop_reason << "\n";
    if (summary.best_val_p2) {
      std::cout << "best val P2 " << *summary.best_val_p2;
      if (const auto best = train::best_checkpoint(options->run_dir)) std::cout << " at step " << best->step;
      std::cout << ": " << summary.best_checkpoint << "\n";
    }
    if (!summary.last_checkpoint.empty()) std::cout << "last checkpoint: " << summary.last_checkpoint << "\n";
  });
}

} // namespace t2i::cli
