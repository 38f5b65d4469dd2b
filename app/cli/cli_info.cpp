#include "commands.h"

#include "t2i/model.h"
#include "t2i/runtime.h"

#include <iostream>
#include <memory>
#include <string>

namespace t2i::cli {

std::string preset_option_help() {
  std::string names;
  for (const std::string& name : model::list_presets()) names += (names.empty() ? "" : ", ") + name;
  return "Preset name (" + names + ") or preset file";
}

void add_info_command(CLI::App& app) {
  auto* info = app.add_subcommand("info", "Show LibTorch, devices, threads and BLAS in use");
  auto* json = info->add_flag("--json", "Print one JSON object instead of text");
  info->callback([json] {
    const runtime::Report report = runtime::report();
    std::cout << (*json ? runtime::to_json(report) + "\n" : runtime::to_text(report));
  });

  auto* presets = app.add_subcommand("presets", "List the model presets found, with their files and descriptions");
  presets->require_subcommand(0, 1);
  presets->callback([presets] {
    if (!presets->get_subcommands().empty()) return;
    for (const std::string& name : model::list_presets()) {
      const model::Preset preset = model::find_preset(name);
      std::cout << name << "\t" << preset.path << "\t" << preset.description << "\n";
    }
  });
  auto* show = presets->add_subcommand("show", "Print a preset with every default filled in (the current format)");
  auto name = std::make_shared<std::string>();
  show->add_option("name", *name, preset_option_help())->required();
  show->callback([name] { std::cout << model::preset_to_json(model::find_preset(*name)); });
  presets->add_subcommand("schema", "Print the preset format's field table (Markdown)")->callback([] {
    std::cout << model::preset_schema_markdown();
  });
}

} // namespace t2i::cli
