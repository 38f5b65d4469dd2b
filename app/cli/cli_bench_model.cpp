// `t2i bench model`: a preset's U-Net on this machine (parameters, counted FLOPs, forward and
// training-step times, memory), next to a plain convolution measured in the same run.
#include "commands.h"

#include "t2i/bench.h"

#include <iostream>
#include <memory>
#include <string>

namespace t2i::cli {

void add_bench_model(CLI::App& bench) {
  auto* command = bench.add_subcommand("model", "A preset's U-Net: parameters, FLOPs, step times, images/s, memory");
  auto options = std::make_shared<bench::ModelOptions>();
  command->add_option("--preset", options->preset, preset_option_help())
      ->capture_default_str();
  command->add_option("--batch", options->batch, "Images per micro-batch (default: the preset's max batch size)")
      ->check(CLI::Range(1, 4096));
  command->add_option("--text-length", options->text_length,
                      "Text tokens per caption after padding (default: the preset's max text length)")
      ->check(CLI::Range(1, 4096));
  command->add_option("--repeats", options->repeats, "Timed repetitions per measurement (median is reported)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  command->add_option("--modes", options->modes, "Modes to run: fp32, bf16, fp32+checkpoint, bf16+checkpoint (default: all)")
      ->delimiter(',');
  command->add_flag("!--nchw", options->channels_last, "Contiguous NCHW activations instead of channels-last");
  command->add_flag("!--no-kernels", options->kernels, "Skip the plain convolution measured for comparison");
  command->add_flag("--profile", options->profile,
                    "Also profile a training step by category of operator (JSON, and a table on stderr)");
  command->callback([options] {
    const std::string json = bench::model_json(*options);
    std::cout << json << "\n";
    if (options->profile) std::cerr << bench::profile_tables(json);
  });
}

} // namespace t2i::cli
