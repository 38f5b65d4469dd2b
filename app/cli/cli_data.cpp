// `t2i data …`: inspect a captioned image collection, prepare it for training (image cache +
// split), make the demo dataset, build the nearest-training-image index; and `t2i bench data`,
// the image cache's build rate.
#include "commands.h"
#include "terminal_job.h"

#include "t2i/bench.h"
#include "t2i/data.h"
#include "t2i/neighbours.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

namespace t2i::cli {

namespace {

struct SourceOptions {
  std::vector<std::string> annotations;
  std::vector<std::string> images;
  std::size_t max_images = data::SplitOptions{}.max_images;
  std::uint64_t seed = data::SplitOptions{}.seed;
};

void add_source_options(CLI::App* command, SourceOptions& options) {
  command->add_option("--annotations", options.annotations,
                      "Caption file, by its extension: " + caption_formats_help() +
                          " (repeat for several, paired with --images in order)")
      ->required();
  command->add_option("--images", options.images, "Folder the caption file's file names are relative to")->required();
  command->add_option("--n", options.max_images, "Images chosen before the 75/15/10 split")->check(CLI::Range(1, 100000000));
  command->add_option("--seed", options.seed, "Seed of the subset and the split");
}

std::vector<data::Source> sources_of(const SourceOptions& options) {
  if (options.annotations.size() != options.images.size())
    throw CliExit(2, "give one --images folder per --annotations file (" + std::to_string(options.annotations.size()) +
                         " caption files, " + std::to_string(options.images.size()) + " folders)");
  std::vector<data::Source> sources;
  for (std::size_t i = 0; i < options.annotations.size(); ++i) sources.push_back({options.annotations[i], options.images[i]});
  return sources;
}

void add_neighbours_command(CLI::App* data) {
  auto* command = data->add_subcommand(
      "neighbours", "Build (or bring up to date) the nearest-training-image index of a prepared dataset's training "
                    "split: FID Inception features with --inception, else the cached pixels");
  auto folder = std::make_shared<std::string>();
  auto options = std::make_shared<evaluate::NeighbourOptions>();
  auto json = std::make_shared<bool>(false);
  command->add_option("--data", *folder, "The prepared dataset folder (holding manifest.json), or the data folder above it")
      ->required()
      ->check(CLI::ExistingDirectory);
  command->add_option("--inception", options->inception_weights, "FID Inception weights (pt_inception-2015-12-05-6726825d.pth)");
  command->add_option("--device", options->device, "cpu or cuda[:N], for the Inception features")->capture_default_str();
  command->add_flag("--json", *json, "Print one JSON object");
  command->callback([folder, options, json] {
    const evaluate::NeighbourBuildReport r = evaluate::build_neighbour_index(data::find_prepared_folder(*folder), *options, TerminalJob().context());
    if (r.cancelled) throw CliExit(130, "interrupted; run the same command again to resume");
    if (*json) {
      std::cout << nlohmann::json{{"path", r.path}, {"measure", evaluate::to_string(r.measure)}, {"measure_note", r.measure_note},
                                  {"images", r.images}, {"computed", r.computed}, {"reused", r.reused},
                                  {"baseline_reused", r.baseline_reused}, {"seconds", r.seconds}}
                       .dump()
                << "\n";
      return;
    }
    std::cout << "index     " << r.path << "\n"
              << "measure   " << evaluate::describe(r.measure) << (r.measure_note.empty() ? "" : "; " + r.measure_note) << "\n"
              << "images    " << r.images << " (" << r.computed << " computed, " << r.reused << " reused"
              << (r.baseline_reused ? ", train-to-train neighbours kept" : "") << ") in " << r.seconds << " s\n";
  });
}

} // namespace

std::string caption_formats_help() {
  std::string help;
  for (const data::CaptionFormat& format : data::caption_formats())
    help += (help.empty() ? "" : ", ") + format.description + " (" + format.extension + ")";
  return help;
}

void add_data_command(CLI::App& app) {
  auto* data = app.add_subcommand("data", "Datasets: inspect, prepare (image cache and split), make the demo dataset");
  data->require_subcommand(1);

  auto* inspect = data->add_subcommand("inspect", "Report images found, usable and skipped, captions, and split sizes");
  auto inspect_options = std::make_shared<SourceOptions>();
  add_source_options(inspect, *inspect_options);
  auto* inspect_json = inspect->add_flag("--json", "Print one JSON object instead of text");
  inspect->callback([inspect_options, inspect_json] {
    data::InspectOptions options;
    options.split.max_images = inspect_options->max_images;
    options.split.seed = inspect_options->seed;
    const TerminalJob job;
    const data::DatasetReport report = data::inspect(sources_of(*inspect_options), options, job.context());
    std::cout << (*inspect_json ? data::to_json(report) + "\n" : data::to_text(report));
  });

  auto* prepare = data->add_subcommand("prepare", "Decode and resize the images into a cache, split them, write the manifest");
  auto prepare_options = std::make_shared<SourceOptions>();
  auto image_size = std::make_shared<int>(64);
  auto out = std::make_shared<std::string>();
  auto cache_root = std::make_shared<std::string>();
  add_source_options(prepare, *prepare_options);
  auto* out_option = prepare->add_option("--out", *out, "Cache folder (images.t2icache, manifest.json, report.json)");
  prepare->add_option("--cache-root", *cache_root,
                      "Folder of dataset caches (the studio's cache folder): the cache goes where the studio's Data "
                      "page looks for this dataset, so either reuses what the other built")
      ->excludes(out_option);
  auto* size_option =
      prepare->add_option("--size", *image_size, "Image size S: shorter side resized to S, centre crop S x S")->check(CLI::Range(1, 4096));
  auto sizes = std::make_shared<std::vector<int>>();
  prepare->add_option("--sizes", *sizes,
                      "Several sizes, e.g. 32,64 for a 32->64 super-resolution stage: the first is S (it names the "
                      "folder and the model trains at it), each other one gets a cache of the same images beside it")
      ->delimiter(',')
      ->check(CLI::Range(1, 4096))
      ->excludes(size_option);
  prepare->callback([prepare_options, image_size, sizes, out, cache_root] {
    if (out->empty() && cache_root->empty()) throw CliExit(2, "data prepare: give --out FOLDER or --cache-root FOLDER");
    data::PrepareOptions options;
    options.image_size = sizes->empty() ? *image_size : sizes->front();
    if (!sizes->empty()) options.extra_sizes.assign(sizes->begin() + 1, sizes->end());
    options.split.max_images = prepare_options->max_images;
    options.split.seed = prepare_options->seed;
    const std::vector<data::Source> sources = sources_of(*prepare_options);
    const std::string folder =
        out->empty() ? data::prepared_folder(data::cache_folder(*cache_root, sources, options.split, options.image_size)) : *out;
    const data::PrepareResult result = data::prepare(sources, folder, options, TerminalJob().context());
    if (result.cancelled) throw CliExit(130, "interrupted; run the same command again to resume");
    std::cout << data::to_text(result.report);
    std::cout << "cache     " << result.cache_file << (result.reused ? " (reused)" : "") << "\n";
    for (const std::string& file : result.extra_cache_files) std::cout << "cache     " << file << "\n";
    std::cout << "manifest  " << result.manifest_file << " (hash " << result.manifest_hash << ")\n";
    if (result.images_decoded > 0)
      std::cout << "decoded   " << result.images_decoded << " images in " << result.decode_seconds << " s\n";
  });

  auto* demo = data->add_subcommand("make-demo", "Write the built-in demo dataset (coloured shapes with captions)");
  auto demo_out = std::make_shared<std::string>();
  auto demo_options = std::make_shared<data::DemoOptions>();
  demo->add_option("--out", *demo_out, "Folder for annotations/captions_demo.json and images/")->required();
  demo->add_option("--n", demo_options->images, "Number of images")->check(CLI::Range(1, 10000000));
  demo->add_option("--size", demo_options->image_size, "Image side in pixels")->check(CLI::Range(8, 1024));
  demo->add_option("--seed", demo_options->seed, "Seed of the scenes");
  demo->add_option("--captions", demo_options->captions_per_image, "Captions per image")->check(CLI::Range(1, 100));
  demo->callback([demo_out, demo_options] {
    const auto started = std::chrono::steady_clock::now();
    const data::DemoDataset dataset = data::make_demo_dataset(*demo_out, *demo_options);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cout << (dataset.reused ? "already present: " : "wrote ") << dataset.images << " images, " << dataset.captions
              << " captions" << (dataset.reused ? "" : " in " + std::to_string(seconds) + " s") << "\n"
              << "--annotations " << dataset.source.annotations << " --images " << dataset.source.images_dir << "\n";
  });
  add_neighbours_command(data);
}

void add_bench_data(CLI::App& bench) {
  auto* command = bench.add_subcommand("data", "Image cache build rate (decode + resize + crop) into a fresh folder");
  auto options = std::make_shared<SourceOptions>();
  auto image_size = std::make_shared<int>(64);
  auto threads = std::make_shared<int>(0);
  add_source_options(command, *options);
  command->add_option("--size", *image_size, "Image size S")->check(CLI::Range(1, 4096));
  command->add_option("--decode-threads", *threads, "Decoding threads (0 = every available core)")->check(CLI::Range(0, 1024));
  command->callback([options, image_size, threads] {
    bench::DataOptions bench_options;
    bench_options.sources = sources_of(*options);
    bench_options.split.max_images = options->max_images;
    bench_options.split.seed = options->seed;
    bench_options.image_size = *image_size;
    bench_options.threads = *threads;
    std::cout << bench::data_json(bench_options) << "\n";
  });
}

} // namespace t2i::cli
