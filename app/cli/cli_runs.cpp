// `t2i runs show RUN [--loss-by-noise]`: what a run folder holds, read through the run-folder
// API (t2i/runs.h): its preset, steps, last measurements, best checkpoint and memorisation curve
// (t2i/probe_gallery.h); and its loss by
// noise level (t2i/loss_by_noise.h) as tables over evaluations.
// `t2i runs gallery RUN --out grid.png`: its probe gallery (t2i/probe_gallery.h) as a labelled grid.
// `t2i runs list [FOLDER]` and `t2i runs compare RUN RUN…`: runs side by side (t2i/runs.h).
#include "commands.h"

#include "t2i/loss_by_noise.h"
#include "t2i/probe_gallery.h"
#include "t2i/runs.h"
#include "t2i/sample.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <iostream>
#include <vector>

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

void print_summary(const std::string& run_dir) {
  const train::History history = train::read_history(run_dir);
  const train::RunSummary summary = train::summarize_run(run_dir, history);
  std::cout << "run          " << run_dir << "\n"
            << "preset       " << summary.preset << "\n"
            << "stage        " << (summary.stage.empty() ? "unknown" : summary.stage) << "\n"
            << "steps        " << summary.steps << " (" << train::to_string(summary.status) << ")\n";
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
  const auto& best = summary.best;
  std::cout << "best         " << (best ? "step " + std::to_string(best->step) + ": " + best->path : std::string("none")) << "\n"
            << "latest       " << (history.latest_checkpoint.empty() ? "none" : history.latest_checkpoint) << "\n";
}

// The memorisation curve (t2i/probe_gallery.h): the baseline, then one row per evaluation.
void print_memorisation(const std::string& run_dir) {
  const std::optional<train::MemorisationCurve> curve = train::read_memorisation(run_dir);
  if (!curve) return;
  std::cout << "\nmemorisation by " << evaluate::describe(curve->measure)
            << (curve->measure_note.empty() ? "" : "; " + curve->measure_note) << "\n"
            << "baseline     " << curve->images << " training images' nearest other training image: "
            << number(curve->baseline.low) << " .. " << number(curve->baseline.high) << ", threshold "
            << number(curve->threshold) << " ("
            << (curve->measure == evaluate::NeighbourMeasure::InceptionCosine
                    ? "the " + number(curve->percentile * 100, "%.0f") + "th percentile of the similarities"
                    : "the " + number((1 - curve->percentile) * 100, "%.0f") + "th percentile of the distances")
            << ")\n"
            << "histogram   ";
  for (const std::int64_t count : curve->baseline.counts) std::cout << " " << count;
  std::cout << "\n" << right("step", 8) << right("flagged", 9) << right("share", 8) << right("closest", 10) << "\n";
  for (const auto& point : curve->points)
    std::cout << right(std::to_string(point.step), 8)
              << right(std::to_string(point.flagged) + "/" + std::to_string(point.probes), 9)
              << right(number(point.share, "%.3f"), 8) << right(number(point.closest), 10) << "\n";
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

/// The runs folder the studio uses until one is chosen (ui/settings.cpp, defaultRunsFolder(), by
/// Qt's XDG rule, which the CLI follows without Qt): the per-application folder of older versions
/// when it exists, else $XDG_DATA_HOME/t2i-studio/runs.
std::string studio_runs_folder() {
  namespace fs = std::filesystem;
  const char* xdg = std::getenv("XDG_DATA_HOME");
  const char* home = std::getenv("HOME");
  const fs::path data = xdg != nullptr && *xdg != '\0' ? fs::path(xdg) : fs::path(home != nullptr ? home : ".") / ".local/share";
  const fs::path legacy = data / "t2i-studio" / "t2i-studio" / "runs";
  std::error_code error;
  return (fs::is_directory(legacy, error) ? legacy : data / "t2i-studio" / "runs").string();
}

std::string optional_number(const std::optional<double>& value, const char* format = "%.4g") {
  return value ? number(*value, format) : "-";
}

std::string duration(const std::optional<double>& seconds) {
  if (!seconds) return "-";
  const auto total = static_cast<long long>(std::llround(*seconds));
  char text[32];
  std::snprintf(text, sizeof(text), "%lld:%02lld:%02lld", total / 3600, total / 60 % 60, total % 60);
  return text;
}

std::string best_text(const train::RunSummary& run) {
  if (!run.best) return "none";
  return "step " + std::to_string(run.best->step) + (run.selection.empty() ? "" : " (" + run.selection + ")");
}

/// Rows of cells in aligned columns: the first left-aligned, the others right-aligned (numbers)
/// or left-aligned (text).
void print_table(const std::vector<std::vector<std::string>>& rows, bool numbers = true) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows)
    for (std::size_t c = 0; c < row.size(); ++c) {
      if (widths.size() <= c) widths.push_back(0);
      widths[c] = std::max(widths[c], row[c].size());
    }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      const std::string padding(widths[c] - row[c].size(), ' ');
      line += (c > 0 ? "  " : "") + (c > 0 && numbers ? padding + row[c] : row[c] + padding);
    }
    line.erase(line.find_last_not_of(' ') + 1);  // no padding after the last cell
    std::cout << line << "\n";
  }
}

nlohmann::json optional_json(const std::optional<double>& value) {
  return value && std::isfinite(*value) ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

nlohmann::json summary_json(const train::RunSummary& run) {
  nlohmann::json best = nullptr;
  if (run.best)
    best = {{"step", run.best->step}, {"path", run.best->path}, {"val_p2", optional_json(run.best_val_p2)},
            {"fid", optional_json(run.best_fid)}};
  return {{"name", run.name},
          {"path", run.path},
          {"preset", run.preset},
          {"stage", run.stage},
          {"selection", run.selection},
          {"steps", run.steps},
          {"status", train::to_string(run.status)},
          {"best", best},
          {"last_eval_step", run.last_eval_step ? nlohmann::json(*run.last_eval_step) : nlohmann::json(nullptr)},
          {"last_val_p2", optional_json(run.last_val_p2)},
          {"lowest_fid", optional_json(run.lowest_fid)},
          {"last_kid", optional_json(run.last_kid)},
          {"wall_seconds", optional_json(run.wall_seconds)}};
}

void list_runs(const std::string& folder, bool json) {
  const train::RunListing listing = train::read_runs(folder);
  if (json) {
    nlohmann::json out{{"folder", folder}, {"runs", nlohmann::json::array()}, {"skipped", nlohmann::json::array()}};
    for (const train::RunSummary& run : listing.runs) out["runs"].push_back(summary_json(run));
    for (const train::SkippedFolder& skipped : listing.skipped)
      out["skipped"].push_back({{"path", skipped.path}, {"reason", skipped.reason}});
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << listing.runs.size() << " runs in " << folder << "\n";
  if (!listing.runs.empty()) {
    std::vector<std::vector<std::string>> rows{
        {"run", "preset", "stage", "steps", "status", "best (rule)", "best val P2", "best FID", "last val P2", "lowest FID",
         "last KID", "wall time"}};
    for (const train::RunSummary& run : listing.runs)
      rows.push_back({run.name, run.preset, run.stage, std::to_string(run.steps), train::to_string(run.status), best_text(run),
                      optional_number(run.best_val_p2), optional_number(run.best_fid), optional_number(run.last_val_p2),
                      optional_number(run.lowest_fid), optional_number(run.last_kid), duration(run.wall_seconds)});
    print_table(rows);
  }
  if (!listing.skipped.empty()) {
    std::cout << "skipped " << listing.skipped.size() << (listing.skipped.size() == 1 ? " folder" : " folders") << ":\n";
    for (const train::SkippedFolder& skipped : listing.skipped) std::cout << "  " << skipped.path << ": " << skipped.reason << "\n";
  }
}

void compare_runs(const std::vector<std::string>& run_dirs, bool json) {
  const train::RunComparison comparison = train::compare_runs(run_dirs);
  if (json) {
    nlohmann::json out{{"runs", nlohmann::json::array()}, {"metrics", nlohmann::json::object()},
                       {"config_differences", nlohmann::json::object()}};
    for (const train::RunSummary& run : comparison.runs) out["runs"].push_back(summary_json(run));
    for (const train::MetricRow& row : comparison.metrics)
      for (const auto& value : row.values) out["metrics"][row.name].push_back(optional_json(value));
    for (const train::ConfigDifference& difference : comparison.config_differences)
      out["config_differences"][difference.field] = difference.values;
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::vector<std::vector<std::string>> rows{{""}, {"preset"}, {"status"}, {"best (rule)"}};
  for (const train::RunSummary& run : comparison.runs) {
    rows[0].push_back(run.name);
    rows[1].push_back(run.preset);
    rows[2].push_back(train::to_string(run.status));
    rows[3].push_back(best_text(run));
  }
  for (const train::MetricRow& row : comparison.metrics) {
    rows.push_back({row.name});
    for (const auto& value : row.values)
      rows.back().push_back(row.name == "wall seconds" ? duration(value) : optional_number(value, "%.6g"));
  }
  print_table(rows);
  if (comparison.config_differences.empty()) {
    std::cout << "\nconfig: no differences\n";
    return;
  }
  std::cout << "\nconfig differences (" << comparison.config_differences.size() << "):\n";
  // Long texts (a preset's description) are cut here; --json has them whole.
  constexpr std::size_t kLongest = 48;
  std::vector<std::vector<std::string>> differences{rows[0]};
  for (const train::ConfigDifference& difference : comparison.config_differences) {
    differences.push_back({difference.field});
    for (const std::string& value : difference.values)
      differences.back().push_back(value.size() > kLongest ? value.substr(0, kLongest - 3) + "..." : value);
  }
  print_table(differences, /*numbers=*/false);
}

} // namespace

void add_runs_command(CLI::App& app) {
  auto* runs = app.add_subcommand("runs", "Inspect training run folders");
  runs->require_subcommand(1);
  auto* show = runs->add_subcommand(
      "show", "A run's preset, steps, last metrics, best checkpoint and memorisation curve");
  auto run_dir = std::make_shared<std::string>();
  auto by_noise = std::make_shared<bool>(false);
  show->add_option("run", *run_dir, "The run folder")->required()->check(CLI::ExistingDirectory);
  show->add_flag("--loss-by-noise", *by_noise, "Also print the loss by noise level at every evaluation");
  show->callback([run_dir, by_noise] {
    print_summary(*run_dir);
    print_memorisation(*run_dir);
    if (*by_noise) print_loss_by_noise(*run_dir);
  });

  auto* list = runs->add_subcommand(
      "list", "The runs in a folder: preset, steps, how each ended, its best checkpoint by its own rule, and its "
              "final metrics; folders that are not runs are counted with the reason");
  auto folder = std::make_shared<std::string>(studio_runs_folder());
  auto list_json = std::make_shared<bool>(false);
  list->add_option("folder", *folder, "The folder holding run folders (default: the studio's runs folder)")
      ->capture_default_str();
  list->add_flag("--json", *list_json, "Print one JSON object instead of a table");
  list->callback([folder, list_json] { list_runs(*folder, *list_json); });

  auto* compare = runs->add_subcommand(
      "compare", "Runs side by side: their final metrics as a table, then the preset fields and training options "
                 "in which they differ");
  auto run_dirs = std::make_shared<std::vector<std::string>>();
  auto compare_json = std::make_shared<bool>(false);
  compare->add_option("runs", *run_dirs, "Two or more run folders")->required()->expected(2, -1);
  compare->add_flag("--json", *compare_json, "Print one JSON object instead of tables");
  compare->callback([run_dirs, compare_json] { compare_runs(*run_dirs, *compare_json); });

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
