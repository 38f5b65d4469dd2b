#include "commands.h"
#include "terminal_job.h"

#include "t2i/evaluate.h"

#include <iostream>

namespace t2i::cli {

void add_eval_command(CLI::App& app) {
  auto options = std::make_shared<evaluate::GuidanceEvalOptions>();
  auto json = std::make_shared<bool>(false);
  auto aug = std::make_shared<double>(0.0);
  auto* cmd = app.add_subcommand("eval", "Guidance-scale analysis: FID, KID, validation P2 (and the demo checker) per scale; "
                                         "a super-resolution stage: PSNR of its output and of bicubic enlargement");
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
  cmd->add_option("--aug", *aug, "Super-resolution stages: noise augmentation level (default: the preset's sample_aug)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_flag("--json", *json, "Print JSON instead of a table");
  cmd->callback([cmd, options, json, aug] {
    if (evaluate::is_super_resolution_checkpoint(options->checkpoint)) {
      evaluate::SuperResolutionEvalOptions sr;
      sr.checkpoint = options->checkpoint;
      sr.cache_dir = options->cache_dir;
      sr.split = options->split;
      sr.images = options->samples;
      if (cmd->count("--cfg") > 0) sr.scales = options->scales;
      if (cmd->count("--aug") > 0) sr.aug = *aug;
      sr.device = options->device;
      sr.steps = options->steps;
      sr.sampler = options->sampler;
      sr.thresholding = options->thresholding;
      sr.samples_dir = options->samples_dir;
      const evaluate::SuperResolutionEvalReport report = evaluate::evaluate_super_resolution(sr, TerminalJob().context());
      if (report.cancelled) throw CliExit(130, "cancelled");
      std::cout << (*json ? evaluate::to_json(report) : evaluate::to_table(report)) << "\n";
      return;
    }
    const evaluate::GuidanceEvalReport report = evaluate::evaluate_guidance(*options, TerminalJob().context());
    if (report.cancelled) throw CliExit(130, "cancelled");
    std::cout << (*json ? evaluate::to_json(report) : evaluate::to_table(report)) << "\n";
  });
}

} // namespace t2i::cli
