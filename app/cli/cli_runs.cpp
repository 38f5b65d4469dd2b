// `t2i runs show RUN [--loss-by-noise]`: what a run folder holds, read through the run-folder
// API (t2i/runs.h): its preset, steps, last measurements and best checkpoint; and its loss by
// noise level (t2i/loss_by_noise.h) as tables over evaluations.
// `t2i runs gallery RUN --out grid.png`: its probe gallery (t2i/probe_gallery.h) as a labelled grid.
#include "commands.h"

#include "t2i/loss_by_noise.h"
#include "t2i/probe_gallery.h"
#include "t2i/runs.h"
#include "t2i/sample.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <iostream>

namespace t2i::cli {
namespace {

std::string number(double value, const char* format = "%.4g") {
  if (!std::isfinite(value)) return "-";
  char text[32];
  std::snprintf(text, sizeof(text), format, value);
  return text;
}

/// `text` right-aligned in `width` columns.
std::string right(const std::string& text, std::size_t width) {
  return std::string(text.size() < width ? width - text.size() : 0, ' ') + text;
}

std::string preset_name(const std::string& config_json) {
  const nlohmann::json config = nlohmann::json::parse(config_json, nullptr, false);
  if (!config.is_object() || !config.contains("preset") || !config["preset"].is_object()) return "unknown";
  return config["preset"].value("name", "unknown");
}

void print_summary(const std::string& run_dir) {
  const train::History history = train::read_history(run_dir);
  std::cout << "run          " << run_dir << "\n"
            << "preset       " << preset_name(history.config_json) << "\n"
            << "steps        " << (history.steps.empty() ? 0 : history.steps.back().step) << "\n";
  if (!history.steps.empty()) {
    const train::StepMetrics& last = history.steps.back();
    std::cout << "last step    train loss " << number(last.train_loss) << ", lr " << number(last.learning_rate)
              << ", " << number(last.images_per_second, "%.1f") << " images/s, " << number(last.elapsed_seconds, "%.0f")
              << " s\n";
  }
  if (!history.evals.empty()) {
    const train::EvalMetrics& last = history.evals.back();
    std::cout << "last eval    step " << last.step << ": val P2 " << number(last.val_p2) << ", FID "
              << (last.fid ? number(*last.fid) : "unavailable") << ", KID " << (last.kid ? number(*last.kid) : "-") << "\n";
  }
  const auto best = train::best_checkpoint(run_dir);
  std::cout << "best         " << (best ? "step " + std::to_string(best->step) + ": " + best->path : std::string("none")) << "\n"
            << "latest       " << (history.latest_checkpoint.empty() ? "none" : history.latest_checkpoint) << "\n";
}

void print_grid(const std::string& title, const train::LossGrid& grid) {
  std::cout << "\n" << title << "\n" << right("step \\ log-SNR", 14);
  for (const double lambda : grid.log_snr) std::cout << right(number(lambda, "%.1f"), 9);
  std::cout << "\n";
  for (std::size_t r = 0; r < grid.steps.size(); ++r) {
    std::cout << right(std::to_string(grid.steps[r]), 14);
    for (const double v : grid.values[r]) std::cout << right(number(v, "%.3g"), 9);
    std::cout << "\n";
  }
}

void print_loss_by_noise(const std::string& run_dir) {
  const std::vector<train::LossByNoise> events = train::read_loss_by_noise(run_dir);
  if (events.empty()) {
    std::cout << "\nno loss-by-noise measurements in this run (it was trained by a version without them)\n";
    return;
  }
  print_grid("validation P2 by log-SNR (rows: evaluations; " + std::to_string(events.back().val_images) +
                 " fixed validation images, fixed noise)",
             train::loss_grid(events, train::LossGridSource::ValidationP2));
  print_grid("validation MSE by log-SNR (unweighted)", train::loss_grid(events, train::LossGridSource::ValidationMse));
  print_grid("training P2 by log-SNR bin (mean over the steps since the previous evaluation; column = bin centre)",
             train::loss_grid(events, train::LossGridSource::TrainingP2));
  print_grid("validation - training P2 by log-SNR (the training bin holding each level)",
             train::loss_grid(events, train::LossGridSource::Divergence));
}

struct GalleryRequest {
  std::string run_dir;
  std::string out;
  std::string axis = "training";
  int probe = -1;  ///< -1: every probe
  bool noisy = false;
};

void write_gallery(const GalleryRequest& request) {
  const auto gallery = train::read_probe_gallery(request.run_dir);
  if (!gallery)
    throw std::runtime_error(request.run_dir + " has no probe gallery (trained with --no-probes, or by a version without one)");
  train::GalleryGridOptions options;
  options.axis = request.axis == "training" ? train::GalleryAxis::Training : train::GalleryAxis::Denoising;
  if (request.probe >= 0) options.probe = request.probe;
  options.kind = request.noisy ? train::ProbeImage::Noisy : train::ProbeImage::Estimate;
  const train::GalleryGrid grid = train::gallery_grid(*gallery, options);
  std::map<std::string, std::string> text{{"run", request.run_dir}, {"step_axis", request.axis}};
  std::cout << "probes (" << gallery->sampler << ", " << gallery->sampling_steps << " steps, thresholding "
            << gallery->thresholding << "):\n";
  for (int p = 0; p < gallery->probe_count(); ++p) {
    std::cout << "  " << gallery->probe_label(p) << "\n";
    text["probe_" + std::to_string(p)] = gallery->probe_label(p);
  }
  sample::write_png(request.out, grid.image, text);
  std::cout << "wrote " << request.out << ": " << grid.rows << " x " << grid.columns << " cells, "
            << gallery->evaluations.size() << " evaluations (steps " << gallery->evaluations.front().step << " to "
            << gallery->evaluations.back().step << ")\n";
}

} // namespace

void add_runs_command(CLI::App& app) {
  auto* runs = app.add_subcommand("runs", "Inspect training run folders");
  runs->require_subcommand(1);
  auto* show = runs->add_subcommand("show", "A run's preset, steps, last metrics and best checkpoint");
  auto run_dir = std::make_shared<std::string>();
  auto by_noise = std::make_shared<bool>(false);
  show->add_option("run", *run_dir, "The run folder")->required()->check(CLI::ExistingDirectory);
  show->add_flag("--loss-by-noise", *by_noise, "Also print the loss by noise level at every evaluation");
  show->callback([run_dir, by_noise] {
    print_summary(*run_dir);
    if (*by_noise) print_loss_by_noise(*run_dir);
  });

  auto* gallery = runs->add_subcommand(
      "gallery", "A run's probe gallery as a labelled grid PNG: the same probes (prompt, seed, guidance) sampled at "
                 "step 0 and every evaluation, with x0 and x_t kept at 10 denoising steps");
  auto request = std::make_shared<GalleryRequest>();
  gallery->add_option("run", request->run_dir, "The run folder")->required()->check(CLI::ExistingDirectory);
  gallery->add_option("--out", request->out, "The grid PNG to write")->required();
  gallery->add_option("--step-axis", request->axis,
                      "Columns over training steps (rows: probes, each at the final denoising step) or over "
                      "denoising steps (rows: training steps, one probe)")
      ->check(CLI::IsMember({"training", "denoising"}))
      ->capture_default_str();
  gallery->add_option("--probe", request->probe, "Only this probe (its number, as listed); needed with --step-axis denoising")
      ->check(CLI::NonNegativeNumber);
  gallery->add_flag("--xt", request->noisy, "The noisy images x_t instead of the model's estimates x0");
  gallery->callback([request] { write_gallery(*request); });
}

} // namespace t2i::cli
