// `t2i bench sampler`: the sampling engine's own cost per step, with an analytic network.
#include "commands.h"

#include "t2i/bench.h"

#include <iostream>
#include <memory>

namespace t2i::cli {

void add_bench_sampler(CLI::App& bench) {
  auto* sampler = bench.add_subcommand(
      "sampler", "Time per sampling step of each sampler driven by an elementwise analytic model (engine overhead)");
  auto options = std::make_shared<bench::SamplerOptions>();
  sampler->add_option("--batch", options->batch, "Images per batch")->check(CLI::Range(1, 1024));
  sampler->add_option("--size", options->size, "Image height and width")->check(CLI::Range(1, 4096));
  sampler->add_option("--steps", options->steps, "Sampling steps per run")->check(CLI::Range(1, 1000));
  sampler->add_option("--repeats", options->repeats, "Timed runs per case (best is reported)")->check(CLI::Range(1, 100));
  sampler->add_option("--guidance", options->guidance, "Classifier-free guidance scale (1 = off)");
  sampler->callback([options] { std::cout << bench::sampler_json(*options) << "\n"; });
}

} // namespace t2i::cli
