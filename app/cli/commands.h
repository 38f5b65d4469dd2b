// Each subcommand of the `t2i` CLI lives in its own cli_<name>.cpp and registers itself on the
// root application here. A command's callback returns the process exit code through CliExit.
#pragma once

#include "t2i/diffusion.h"

#include <CLI/CLI.hpp>

#include <stdexcept>
#include <string>

namespace t2i::cli {

/// Thrown by a command callback to end the process with a specific exit code.
struct CliExit : std::runtime_error {
  int code;
  CliExit(int exit_code, const std::string& message) : std::runtime_error(message), code(exit_code) {}
};

void add_info_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_bench_model(CLI::App& bench);
void add_bench_sampler(CLI::App& bench);
void add_text_command(CLI::App& app);
void add_bench_text(CLI::App& bench);
void add_tensors_command(CLI::App& app);
void add_bench_tensor_read(CLI::App& bench);
void add_data_command(CLI::App& app);
void add_bench_data(CLI::App& bench);
void add_fid_command(CLI::App& app);
void add_bench_fid(CLI::App& bench);
void add_train_command(CLI::App& app);
void add_sample_command(CLI::App& app);
/// --sampler and --threshold (`t2i sample`, `t2i eval`), by the engine's names (t2i/diffusion.h).
void add_sampler_options(CLI::App* cmd, diffusion::SamplerKind& sampler, diffusion::ThresholdKind& thresholding);
void add_bench_train(CLI::App& bench);
void add_eval_command(CLI::App& app);
void add_runs_command(CLI::App& app);

/// The caption-file formats for help texts: "COCO captions JSON (…) (.json), …".
std::string caption_formats_help();
/// A --preset option's help: "Preset name (demo, full, …) or preset file", the names those found.
std::string preset_option_help();

} // namespace t2i::cli
