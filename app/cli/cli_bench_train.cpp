#include "commands.h"
#include "launch.h"

#include "t2i/bench.h"
#include "t2i/diffusion.h"
#include "t2i/runtime.h"

#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

namespace t2i::cli {
namespace {

/// What `bench train --nproc N` runs: the same short demo training with 1 and with N processes.
struct DataParallelBench {
  int nproc = 1;
  int steps = 8;
  int demo_images = 512;
  std::string cache_dir;  ///< empty: a temporary folder
};

std::string data_parallel_bench(const bench::PresetOptions& options, const DataParallelBench& b) {
  namespace fs = std::filesystem;
  const fs::path folder = fs::temp_directory_path() / ("t2i-bench-train-" + std::to_string(::getpid()));
  const std::string cache = b.cache_dir.empty() ? (folder / "data").string() : b.cache_dir;
  std::vector<bench::DataParallelRun> runs;
  try {
    for (const int nproc : b.nproc == 1 ? std::vector<int>{1} : std::vector<int>{1, b.nproc}) {
      const std::string out = (folder / ("nproc" + std::to_string(nproc))).string();
      std::vector<std::string> arguments{"train", "--preset", options.preset, "--demo", "--demo-images",
                                         std::to_string(b.demo_images), "--cache", cache, "--out", out,
                                         "--max-steps", std::to_string(b.steps), "--preview-every", "1000000000",
                                         "--device", options.device,
                                         "--threads", std::to_string(runtime::report().intra_op_threads)};
      if (options.precision != runtime::Precision::Auto)
        arguments.insert(arguments.end(), {"--bf16", options.precision == runtime::Precision::BFloat16 ? "on" : "off"});
      std::cerr << "bench: training " << b.steps << " steps with " << nproc << " process(es)\n";
      launch_local_workers(nproc, arguments, /*stdout_to_stderr=*/true);
      runs.push_back({nproc, out});
    }
    const std::string json = bench::data_parallel_json(runs);
    fs::remove_all(folder);
    return json;
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(folder, ignored);
    throw;
  }
}

} // namespace

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
  auto parallel = std::make_shared<DataParallelBench>();
  auto* nproc = train->add_option("--nproc", parallel->nproc,
                                  "Instead: train the demo dataset with 1 and N local processes (data-parallel) and "
                                  "report images/s, scaling efficiency and all-reduced bytes per step")
                    ->check(CLI::Range(1, 256));
  train->add_option("--steps", parallel->steps, "With --nproc: training steps per run (the first is not timed)")
      ->check(CLI::Range(2, 100000))
      ->capture_default_str()
      ->needs(nproc);
  train->add_option("--demo-images", parallel->demo_images, "With --nproc: images of the demo dataset")
      ->check(CLI::Range(10, 1000000))
      ->capture_default_str()
      ->needs(nproc);
  train->add_option("--cache", parallel->cache_dir, "With --nproc: data cache folder to reuse (default: a temporary one)")
      ->needs(nproc);
  auto* inside = train->add_flag("--inside",
                                 "Instead: what looking inside training costs, per evaluation, against the training "
                                 "between two evaluations: the loss by noise level, the probe gallery and its "
                                 "memorisation point (the preset's own model on the demo dataset; --micro-batches "
                                 "timed steps)")
                     ->excludes(nproc);
  train->callback([options, parallel, nproc, inside] {
    if (inside->count() > 0) {
      bench::InsideTrainingOptions measured;
      measured.preset = options->preset;
      measured.device = options->device;
      measured.steps = options->micro_batches;
      std::cout << bench::inside_training_json(measured) << "\n";
      return;
    }
    std::cout << (nproc->count() > 0 ? data_parallel_bench(*options, *parallel) : bench::train_json(*options)) << "\n";
  });

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
  sample->add_flag("--probes", options->probes,
                   "Also time a run that records the attention maps and guidance anatomy (cost against a plain step)");
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
