#include "commands.h"

#include "t2i/bench.h"
#include "t2i/diffusion.h"
#include "t2i/runtime.h"

#include <iostream>
#include <string>

namespace t2i::cli {

void add_bench_train(CLI::App& bench) {
  auto options = std::make_shared<bench::PresetOptions>();
  auto add_common = [options](CLI::App* cmd) {
    cmd->add_option("--preset", options->preset, "Preset name or file")->capture_default_str();
    cmd->add_option("--device", options->device, "cpu or cuda[:N]")->capture_default_str();
    cmd->add_option_function<std::string>(
           "--precision", [options](const std::string& name) { options->precision = runtime::parse_precision(name); },
           "fp32 or bf16 (default: the fastest for the device)")
        ->check(CLI::IsMember({"fp32", "bf16"}));
  };
  auto* train = bench.add_subcommand("train", "Training images/s at the preset's micro-batch, peak RSS");
  add_common(train);
  train->add_option("--micro-batches", options->micro_batches, "Timed micro-batches")->check(CLI::Range(1, 1000));
  train->callback([options] { std::cout << bench::train_json(*options) << "\n"; });

  auto* sample = bench.add_subcommand("sample", "Seconds per guided image, peak RSS");
  add_common(sample);
  sample->add_option("--steps", options->steps, "Sampling steps")->check(CLI::Range(1, 10000))->capture_default_str();
  sample->add_option_function<std::string>(
            "--sampler", [options](const std::string& name) { options->sampler = diffusion::parse_sampler_kind(name); },
            "Sampler")
      ->check(CLI::IsMember(diffusion::sampler_kind_names()))
      ->default_str(diffusion::to_string(options->sampler));
  sample->add_option("--images", options->images, "Images sampled together")->check(CLI::Range(1, 1024));
  sample->add_option("--cfg", options->guidance, "Guidance scale")->check(CLI::Range(0.0, 100.0))->capture_default_str();
  sample->add_flag("--profile", options->profile,
                   "Also profile a second run by category of operator, per step (JSON, and a table on stderr)");
  sample->callback([options] {
    const std::string json = bench::sample_json(*options);
    std::cout << json << "\n";
    if (options->profile) std::cerr << bench::profile_tables(json);
  });

  auto train_options = std::make_shared<train::TrainOptions>();
  auto check = std::make_shared<bench::OverfitOptions>();
  train_options->max_steps = 1000;
  auto* overfit = bench.add_subcommand("overfit", "The overfit-one-batch check: loss drop, and samples nearest their own image");
  overfit->add_option("--preset", train_options->preset, "Preset name or file")->capture_default_str();
  overfit->add_option("--annotations", train_options->data.annotations, "Captions file (COCO JSON, CSV or JSONL)")
      ->required()
      ->check(CLI::ExistingFile);
  overfit->add_option("--images", train_options->data.images_dir, "Images folder")->required()->check(CLI::ExistingDirectory);
  overfit->add_option("--out", train_options->run_dir, "Run folder (new)")->required();
  overfit->add_option("--steps", train_options->max_steps, "Training steps")->check(CLI::Range(20, 1000000))->capture_default_str();
  overfit->add_option("--images-in-batch", train_options->overfit_images, "Images in the batch")
      ->check(CLI::Range(2, 256))
      ->capture_default_str();
  overfit->add_option("--max-images", train_options->data.max_images, "Images prepared before choosing the batch")
      ->check(CLI::Range(2, 1000000));
  overfit->add_option("--cfg", check->guidance, "Guidance scale of the samples")->check(CLI::Range(0.0, 100.0))->capture_default_str();
  overfit->add_option("--device", train_options->device, "cpu or cuda[:N]")->capture_default_str();
  overfit->callback([train_options, check] { std::cout << bench::overfit_json(*train_options, *check) << "\n"; });
}

} // namespace t2i::cli
