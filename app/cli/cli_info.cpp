#include "commands.h"

#include "t2i/preset.h"
#include "t2i/runtime.h"

#include <iostream>

namespace t2i::cli {

void add_info_command(CLI::App& app) {
  auto* info = app.add_subcommand("info", "Show LibTorch, devices, threads and BLAS in use");
  auto* json = info->add_flag("--json", "Print one JSON object instead of text");
  info->callback([json] {
    const runtime::Report report = runtime::report();
    std::cout << (*json ? runtime::to_json(report) + "\n" : runtime::to_text(report));
  });

  auto* presets = app.add_subcommand("presets", "List the model presets found, with their files and descriptions");
  presets->callback([] {
    for (const std::string& name : model::list_presets()) {
      const model::Preset preset = model::find_preset(name);
      std::cout << name << "\t" << preset.path << "\t" << preset.description << "\n";
    }
  });
}

} // namespace t2i::cli
