// `t2i`: the headless command line of t2i-studio.
#include "commands.h"

#include "t2i/log.h"
#include "t2i/runtime.h"
#include "t2i/version.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <iostream>

int main(int argc, char** argv) {
  t2i::runtime::restart_with_passive_openmp_waits(argv);
  CLI::App app{"t2i: train, sample and evaluate small Imagen-style text-to-image diffusion models", "t2i"};
  app.set_version_flag("--version", std::string(t2i::kProjectName) + " " + t2i::kVersion);
  app.require_subcommand(1);
  // Global options after the subcommand (`t2i train … --threads 1`) reach the app; subcommands
  // created below inherit this.
  app.fallthrough();
  int threads = 0;
  app.add_option("--threads", threads, "Intra-op CPU threads (default: all available cores)")
      ->check(CLI::Range(0, 1024));
  bool verbose = false;
  bool quiet = false;
  app.add_flag("-v,--verbose", verbose, "Log debug details");
  app.add_flag("-q,--quiet", quiet, "Log only warnings and errors");
  app.parse_complete_callback([&] {
    t2i::log::set_level(verbose ? spdlog::level::debug : quiet ? spdlog::level::warn : spdlog::level::info);
    t2i::runtime::initialize(threads);
  });

  t2i::log::add_sink(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  t2i::cli::add_info_command(app);
  t2i::cli::add_bench_command(app);
  t2i::cli::add_text_command(app);
  t2i::cli::add_tensors_command(app);
  t2i::cli::add_data_command(app);
  t2i::cli::add_fid_command(app);
  t2i::cli::add_train_command(app);
  t2i::cli::add_sample_command(app);
  t2i::cli::add_eval_command(app);
  t2i::cli::add_runs_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const t2i::cli::CliExit& e) {
    if (e.what()[0] != '\0') t2i::log::core()->error("{}", e.what());
    return e.code;
  } catch (const std::exception& e) {
    t2i::log::core()->error("{}", e.what());
    return 1;
  }
  return 0;
}
