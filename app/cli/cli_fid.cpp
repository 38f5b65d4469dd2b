// `t2i fid …`: FID (and KID) between two folders of images or saved statistics, or a folder's
// statistics saved for later; `t2i bench fid`: Inception feature extraction and distance timings.
#include "commands.h"
#include "terminal_job.h"

#include "t2i/bench.h"
#include "t2i/evaluate.h"

#include <iostream>
#include <memory>

namespace t2i::cli {
namespace {

} // namespace

void add_fid_command(CLI::App& app) {
  auto* command = app.add_subcommand(
      "fid",
      "FID (and KID) between two folders of PNG/JPEG images or saved statistics, or save a folder's statistics");
  struct Args {
    std::string weights, stats_out, device = "cpu";
    std::vector<std::string> paths;
    std::int64_t batch = 16;
    bool kid = false;
    bool json = false;
    evaluate::KidOptions kid_options;
  };
  auto args = std::make_shared<Args>();
  command->add_option("--weights", args->weights,
                      std::string("FID Inception weights (") + "pt_inception-2015-12-05-6726825d.pth from pytorch-fid's releases)")
      ->required();
  command->add_option("--stats", args->stats_out, "Save the statistics of the one folder given to this file");
  command->add_flag("--kid", args->kid, "Also compute KID (unbiased at small sample counts)");
  command->add_option("--kid-subsets", args->kid_options.subsets, "KID: random subsets averaged")->check(CLI::Range(1, 100000));
  command->add_option("--kid-subset-size", args->kid_options.subset_size, "KID: samples per subset")
      ->check(CLI::Range(2, 1000000));
  command->add_option("--seed", args->kid_options.seed, "KID: seed of the subsets");
  command->add_option("--device", args->device, "cpu or cuda[:N]");
  command->add_option("--batch", args->batch, "Images per Inception forward pass")->check(CLI::Range(1, 4096));
  command->add_flag("--json", args->json, "Print one JSON object");
  command->add_option("paths", args->paths, "DIR_A DIR_B (either may be a statistics file), or DIR with --stats")
      ->required()
      ->expected(1, 2);
  command->callback([args] {
    evaluate::FolderOptions options;
    options.device = args->device;
    options.batch_size = args->batch;
    options.kid = args->kid;
    options.kid_options = args->kid_options;
    const TerminalJob job;
    if (!args->stats_out.empty()) {
      if (args->paths.size() != 1) throw CliExit(2, "fid --stats OUT takes one folder");
      const evaluate::StatsReport report =
          evaluate::save_folder_stats(args->weights, args->paths[0], args->stats_out, options, job.context());
      if (report.cancelled) throw CliExit(130, "cancelled; nothing was written");
      std::cout << evaluate::to_json(report) << "\n";
      return;
    }
    if (args->paths.size() != 2) throw CliExit(2, "fid takes two folders or statistics files (or one folder with --stats OUT)");
    const evaluate::FidReport report =
        evaluate::compare(args->weights, args->paths[0], args->paths[1], options, job.context());
    if (report.cancelled) throw CliExit(130, "cancelled");
    std::cout << (args->json ? evaluate::to_json(report) + "\n" : evaluate::to_text(report));
  });
}

void add_bench_fid(CLI::App& bench) {
  auto* command = bench.add_subcommand(
      "fid", "FID Inception feature extraction rate (random weights, fp32) and statistics/FID/KID time");
  auto options = std::make_shared<bench::FidOptions>();
  command->add_option("--device", options->device, "cpu or cuda[:N]");
  command->add_option("--batch", options->batch_size, "Images per forward pass")->check(CLI::Range(1, 4096));
  command->add_option("--batches", options->batches, "Timed passes per memory layout (best is reported)")
      ->check(CLI::Range(1, 1000));
  command->add_option("--image-size", options->image_size, "Side of the random input images")->check(CLI::Range(1, 4096));
  command->add_option("--samples", options->samples, "Features per side for the statistics/FID/KID timing")
      ->check(CLI::Range(2, 1000000));
  command->callback([options] { std::cout << bench::fid_json(*options) << "\n"; });
}

} // namespace t2i::cli
