#include "commands.h"
#include "terminal_job.h"

#include "t2i/evaluate.h"

#include <iostream>

namespace t2i::cli {

void add_eval_command(CLI::App& app) {
  auto options = std::make_shared<evaluate::GuidanceEvalOptions>();
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("eval", "Guidance-scale analysis: FID, KID, validation P2 (and the demo checker) per scale");
  cmd->add_option("--checkpoint", options->checkpoint, "Checkpoint to evaluate")->required()->check(CLI::ExistingFile);
  cmd->add_option("--cfg", options->scales, "Guidance scales, comma-separated")->delimiter(',')->capture_default_str();
  cmd->add_option("--n", options->samples, "Samples per scale")->check(CLI::Range(1, 1 << 20))->capture_default_str();
  cmd->add_option_function<std::string>(
         "--split", [options](const std::string& name) { options->split = data::parse_split(name); },
         "Captions and reference images from this split")
      ->check(CLI::IsMember({"val", "test"}))
      ->default_str(data::to_string(options->split));
  cmd->add_option("--weights", options->inception_weights, "FID Inception weights (pt_inception-2015-12-05-6726825d.pth)");
  cmd->add_option("--data", options->cache_dir, "Prepared dataset folder (default: the checkpoint's run data)");
  cmd->add_option("--device", options->device, "cpu or cuda[:N]")->capture_default_str();
  cmd->add_option("--steps", options->steps, "Sampling steps")->check(CLI::Range(1, 10000))->capture_default_str();
  add_sampler_options(cmd, options->sampler, options->thresholding);
  cmd->add_option("--samples-out", options->samples_dir, "Also write the samples as PNGs here");
  cmd->add_flag("--json", *json, "Print JSON instead of a table");
  cmd->callback([options, json] {
    const evaluate::GuidanceEvalReport report = evaluate::evaluate_guidance(*options, TerminalJob().context());
    if (report.cancelled) throw CliExit(130, "cancelled");
    std::cout << (*json ? evaluate::to_json(report) : evaluate::to_table(report)) << "\n";
  });
}

} // namespace t2i::cli
