// `t2i tensors list FILE`: what a weights file holds, for users debugging a model that will not load.
#include "commands.h"

#include "t2i/bench.h"
#include "t2i/tensors.h"

#include <iostream>

namespace t2i::cli {

void add_tensors_command(CLI::App& app) {
  auto* tensors = app.add_subcommand("tensors", "Inspect tensor files (safetensors, torch.save, sharded indexes)");
  tensors->require_subcommand(1);
  auto* list = tensors->add_subcommand("list", "Names, dtypes and shapes of every tensor in a file");
  auto file = std::make_shared<std::string>();
  list->add_option("file", *file, "The file: .safetensors, *.index.json, .pth/.bin/.pt")->required();
  list->callback([file] {
    int64_t total = 0;
    const auto infos = tensors::list_tensors(*file);
    for (const auto& info : infos) {
      int64_t count = 1;
      std::string shape = "[";
      for (size_t i = 0; i < info.shape.size(); ++i) {
        shape += (i ? ", " : "") + std::to_string(info.shape[i]);
        count *= info.shape[i];
      }
      std::cout << info.name << "\t" << info.dtype << "\t" << shape << "]\n";
      total += count;
    }
    std::cout << infos.size() << " tensors, " << total << " values\n";
  });
}

void add_bench_tensor_read(CLI::App& bench) {
  auto* read = bench.add_subcommand("tensor-read", "Write, then read back a large random safetensors file");
  auto options = std::make_shared<bench::TensorReadOptions>();
  read->add_option("--size-mb", options->size_mb, "Size of the file")->check(CLI::Range(1, 65536));
  read->add_option("--folder", options->folder, "Folder for the temporary file (default: the system's temporary folder)");
  read->callback([options] { std::cout << bench::tensor_read_json(*options) << "\n"; });
}

} // namespace t2i::cli
