// Run folders written as the trainer writes them, without training: config.json (a preset and the
// options), metrics.jsonl's step and evaluation events, the newest step checkpoint, and
// best.safetensors where the trainer's own rule (train/best_checkpoint.h) would have put it.
// Checkpoints hold only their metadata, which is all the run-folder readers look at.
#pragma once

#include "tiny_preset.h"

#include "model/checkpoint_file.h"
#include "train/best_checkpoint.h"
#include "train/run_folder.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace t2i::test {

struct FixtureEval {
  std::int64_t step = 0;
  double val_p2 = 0;
  std::optional<double> fid;
  std::optional<double> kid;
};

struct FixtureRun {
  nlohmann::json preset = tiny_preset_json();
  /// The stored training options; "selection" picks the best-checkpoint rule ("p2" or "p2+fid").
  nlohmann::json options = {{"selection", "p2"}, {"max_steps", 0}, {"seed", 7}};
  std::int64_t steps = 0;             ///< step events 1…steps
  std::int64_t checkpoint_step = -1;  ///< the newest step checkpoint; -1: at `steps`
  std::vector<FixtureEval> evals;
};

/// The training loss the fixture logs at `step`.
inline double fixture_train_loss(std::int64_t step) { return 1.0 / (1.0 + 0.1 * static_cast<double>(step)); }

inline void write_fixture_run(const std::string& run_dir, const FixtureRun& run) {
  train::RunFolder folder(run_dir);
  folder.write_config({{"preset", run.preset}, {"options", run.options}});
  const auto checkpoint = [](const std::string& path, std::int64_t step) {
    model::Checkpoint file;
    file.meta["step"] = step;
    model::write_checkpoint(path, file);
  };
  const auto selection =
      run.options.value("selection", "p2") == "p2" ? train::Selection::ValP2 : train::Selection::ValP2AndFid;
  train::BestCheckpoint best(selection, std::nullopt);
  auto eval = run.evals.begin();
  for (std::int64_t step = 1; step <= run.steps; ++step) {
    folder.append_metrics({{"event", "step"}, {"step", step}, {"train_loss", fixture_train_loss(step)}, {"lr", 1e-4},
                           {"elapsed", 0.5 * static_cast<double>(step)}});
    for (; eval != run.evals.end() && eval->step == step; ++eval) {
      const bool improved = best.record(step, eval->val_p2, eval->fid);
      nlohmann::json event{{"event", "eval"}, {"step", step}, {"val_p2", eval->val_p2}, {"improved", improved},
                           {"steps_without_improvement", best.steps_without_improvement(step)}, {"early_stop_in", -1}};
      if (eval->fid) event["fid"] = *eval->fid;
      if (eval->kid) event["kid"] = *eval->kid;
      folder.append_metrics(event);
      if (improved) checkpoint(folder.best_checkpoint_path(), step);
    }
  }
  const std::int64_t newest = run.checkpoint_step < 0 ? run.steps : run.checkpoint_step;
  if (newest > 0) checkpoint(folder.checkpoint_path(newest), newest);
}

/// The runs folder of the run-listing tests: alpha (selection by P2 and FID, finished), beta (by
/// P2, with KID, stopped before its max steps, another learning rate and seed), gamma
/// (interrupted: steps after its newest checkpoint), and three folders that are not runs.
inline void write_runs_folder(const std::string& root) {
  FixtureRun alpha;
  alpha.options = {{"selection", "p2+fid"}, {"max_steps", 40}, {"seed", 7}};
  alpha.steps = 40;
  alpha.evals = {{10, 0.50, 90.0, {}}, {20, 0.40, 120.0, {}}, {30, 0.45, 90.0, {}}, {40, 0.44, 95.0, {}}};
  write_fixture_run(root + "/alpha", alpha);
  FixtureRun beta;
  beta.preset["training"]["learning_rate"] = 3.5e-4;
  beta.options = {{"selection", "p2"}, {"max_steps", 50}, {"seed", 8}};
  beta.steps = 30;
  beta.evals = {{10, 0.60, {}, 0.05}, {20, 0.30, {}, 0.02}, {30, 0.35, {}, 0.01}};
  write_fixture_run(root + "/beta", beta);
  FixtureRun gamma;
  gamma.steps = 25;
  gamma.checkpoint_step = 20;
  gamma.evals = {{10, 0.7, {}, {}}, {20, 0.6, {}, {}}};
  write_fixture_run(root + "/gamma", gamma);
  std::filesystem::create_directories(root + "/notes");
  std::filesystem::create_directories(root + "/broken");
  std::ofstream(root + "/broken/config.json") << "{\"preset\": ";
  std::filesystem::create_directories(root + "/damaged");
  std::ofstream(root + "/damaged/metrics.jsonl") << "{\"event\":\"step\",\"step\":1}\nnot json\n{\"event\":\"step\",\"step\":2}\n";
}

} // namespace t2i::test
