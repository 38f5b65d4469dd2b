#include "commands.h"

#include "t2i/bench.h"

#include <iostream>

namespace t2i::cli {

void add_bench_command(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Benchmarks that print JSON");
  bench->require_subcommand(1);

  auto* kernels = bench->add_subcommand("kernels", "The machine's conv and matmul throughput, fp32 and bf16");
  auto options = std::make_shared<bench::KernelsOptions>();
  kernels->add_option("--repeats", options->repeats, "Timed repetitions per kernel (best is reported)")
      ->check(CLI::Range(1, 1000));
  kernels->callback([options] { std::cout << bench::kernels_json(*options) << "\n"; });
  add_bench_text(*bench);
  add_bench_tensor_read(*bench);
  add_bench_data(*bench);
  add_bench_sampler(*bench);
  add_bench_model(*bench);
  add_bench_fid(*bench);
  add_bench_train(*bench);
}

} // namespace t2i::cli
