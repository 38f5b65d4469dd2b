#include "commands.h"
#include "terminal_job.h"

#include "t2i/evaluate.h"
#include "t2i/neighbours.h"
#include "t2i/sample.h"

#include <cstdio>

#include <filesystem>
#include <iostream>
#include <locale>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <random>
#include <vector>

namespace t2i::cli {

namespace {

std::string in(const std::string& folder, const std::string& name) { return (std::filesystem::path(folder) / name).string(); }

std::string scale_label(double w) {
  std::ostringstream text;
  text.imbue(std::locale::classic());
  text << w;
  return text.str();
}

// --trajectory: the scale × step grids of one frozen trajectory and each scale's image.
void write_trajectory(sample::Generator& generator, const sample::Request& request, const std::vector<double>& scales,
                      std::vector<int> steps, const std::string& out) {
  if (steps.empty()) steps = sample::evenly_spaced_steps(request.steps, 5);
  const sample::TrajectoryGrid grid = sample::scale_step_grid(generator, request, scales, steps, TerminalJob().context());
  if (grid.images.empty()) throw CliExit(130, "cancelled");
  sample::ImageMetadata metadata = sample::image_metadata(request, 0, generator.info());
  metadata.guidance = scales.front();
  metadata.grid_seeds = request.seeds;
  metadata.grid_guidance = scales;
  metadata.grid_steps = steps;
  const auto write_grid = [&](const std::vector<std::vector<Image>>& cells, const std::string& name) {
    std::vector<Image> tiles;
    for (const auto& row : cells) tiles.insert(tiles.end(), row.begin(), row.end());
    const std::string path = in(out, name);
    sample::write_png(path, sample::image_grid(tiles, static_cast<int>(steps.size())), sample::to_png_text(metadata));
    std::cout << path << "\n";
  };
  write_grid(grid.x0_pred, "trajectory_x0.png");
  write_grid(grid.x_t, "trajectory_xt.png");
  std::cout << "rows: guidance";
  for (const double w : scales) std::cout << " " << scale_label(w);
  std::cout << "; columns: step";
  for (const int step : steps) std::cout << " " << step;
  std::cout << " of " << request.steps << "\n";
  for (std::size_t row = 0; row < scales.size(); ++row) {
    sample::Request alone = request;
    alone.guidance = scales[row];
    const std::string path = in(out, "image_w" + scale_label(scales[row]) + ".png");
    sample::write_png(path, grid.images[row], generator.metadata(alone, 0));
    std::cout << path << "\n";
  }
}

// --swap FROM=TO: both images, their difference and both images' word maps.
void write_word_swap(sample::Generator& generator, const sample::Request& request, const std::string& swap_text,
                     double inject, const std::string& out) {
  const std::size_t equals = swap_text.find('=');
  if (equals == std::string::npos) throw CliExit(2, "--swap: give FROM=TO, e.g. red=blue");
  const sample::WordSwap swap{swap_text.substr(0, equals), swap_text.substr(equals + 1), inject};
  sample::WordSwapResult result;
  try {
    result = generator.swap_word(request, swap, TerminalJob().context());
  } catch (const std::invalid_argument& error) {
    throw CliExit(2, std::string("--swap: ") + error.what());
  }
  if (result.a.rgb.empty() || result.b.rgb.empty()) throw CliExit(130, "cancelled");
  sample::Request b = request;
  b.prompts = {result.prompt_b};
  sample::write_png(in(out, "a.png"), result.a, generator.metadata(request, 0));
  sample::write_png(in(out, "b.png"), result.b, generator.metadata(b, 0));
  sample::write_png(in(out, "difference.png"), result.difference);
  for (const char* name : {"a.png", "b.png", "difference.png"}) std::cout << in(out, name) << "\n";
  sample::write_attention_maps(in(out, "maps_a"), result.maps_a, 0, result.a, false);
  sample::write_attention_maps(in(out, "maps_b"), result.maps_b, 0, result.b, false);
  std::cout << in(out, "maps_a/index.json") << "\n" << in(out, "maps_b/index.json") << "\n";
  std::cout << "A: " << result.prompt_a << "\nB: " << result.prompt_b << "\nA's attention injected into B for "
            << result.injected_steps << " of " << request.steps << " steps\n";
}

// The command line's settings for a cascade's stages, base first; a list shorter than the stages
// leaves the rest to the file.
struct StageOverrides {
  std::vector<double> guidance;                   ///< --cfg
  std::vector<int> steps;                         ///< --steps
  std::vector<double> aug;                        ///< --aug, super-resolution stages only (stage 1 on)
  std::optional<diffusion::SamplerKind> sampler;  ///< --sampler, the base stage
};

void override_stages(sample::Cascade& cascade, const StageOverrides& overrides) {
  const std::size_t stages = cascade.stages.size();
  const auto too_many = [stages](const char* option, std::size_t given, std::size_t allowed, const char* what) {
    if (given > allowed)
      throw CliExit(2, std::string(option) + ": " + std::to_string(given) + " values for a cascade of " +
                           std::to_string(stages) + " stages (at most one per " + what + ")");
  };
  too_many("--cfg", overrides.guidance.size(), stages, "stage");
  too_many("--steps", overrides.steps.size(), stages, "stage");
  too_many("--aug", overrides.aug.size(), stages - 1, "super-resolution stage");
  for (std::size_t i = 0; i < overrides.guidance.size(); ++i) cascade.stages[i].guidance = overrides.guidance[i];
  for (std::size_t i = 0; i < overrides.steps.size(); ++i) cascade.stages[i].steps = overrides.steps[i];
  for (std::size_t i = 0; i < overrides.aug.size(); ++i) cascade.stages[i + 1].aug = overrides.aug[i];
  if (overrides.sampler) cascade.stages.front().sampler = overrides.sampler;
}

// --cascade: the base stage and every super-resolution stage; writes the last stage's images.
// The request's steps and sampler are the later stages' where neither the file nor the command
// line sets theirs.
void sample_cascade(const std::string& file, sample::Cascade cascade, const StageOverrides& overrides,
                    sample::Request request, const std::string& device, const std::string& out) {
  override_stages(cascade, overrides);
  std::vector<std::unique_ptr<sample::Generator>> loaded;
  std::vector<sample::Generator*> stages;
  std::vector<sample::ModelInfo> models;
  for (const sample::CascadeStage& stage : cascade.stages) {
    loaded.push_back(std::make_unique<sample::Generator>(stage.checkpoint, device));
    stages.push_back(loaded.back().get());
    models.push_back(loaded.back()->info());
  }
  request.guidance = models.front().default_guidance;
  const auto images = sample::generate_cascade(stages, cascade, file, request, TerminalJob().context());
  if (images.empty()) throw CliExit(130, "cancelled");
  for (std::size_t stage = 0; stage < images.size(); ++stage) {
    const sample::Request used = sample::stage_request(request, cascade, stage, models[stage]);
    std::cout << "stage " << stage << ": " << std::filesystem::path(models[stage].checkpoint).filename().string() << ", "
              << models[stage].image_size << "×" << models[stage].image_size << ", w = " << scale_label(used.guidance)
              << ", " << used.steps << " " << diffusion::to_string(used.sampler) << " steps";
    if (stage > 0) std::cout << ", aug " << scale_label(used.aug.value_or(models[stage].default_aug));
    std::cout << "\n";
  }
  for (std::size_t i = 0; i < images.back().size(); ++i) {
    const std::string path = in(out, "image_" + std::to_string(i) + "_seed" + std::to_string(request.seeds[i]) + ".png");
    sample::write_png(path, images.back()[i], sample::to_png_text(sample::cascade_metadata(request, i, cascade, file, models)));
    std::cout << path << "\n";
  }
}

// --neighbours K: each image's K nearest training images, printed and written to neighbours.json.
// `cache_root` (--cache-root): where the built-in demo dataset is written again for a checkpoint
// trained on it whose run no longer holds it; empty = not at all.
void write_neighbours(const std::vector<Image>& images, const std::vector<std::string>& files, int k,
                      const std::string& checkpoint, const std::string& data_dir, const std::string& cache_root,
                      const evaluate::NeighbourOptions& options, const std::string& out) {
  const std::string name_the_data =
      cache_root.empty() ? "; name the training data with --data (or, for a model trained on the built-in demo dataset, "
                           "give --cache-root FOLDER to write that dataset again)"
                         : "; name the training data with --data";
  std::string prepared;
  try {
    prepared = cache_root.empty() ? evaluate::training_data_folder(checkpoint, data_dir)
                                  : evaluate::training_data_folder(checkpoint, data_dir, cache_root, TerminalJob().context());
  } catch (const std::exception& error) {
    throw CliExit(1, std::string("--neighbours: ") + error.what() + name_the_data);
  }
  if (prepared.empty()) throw CliExit(130, "cancelled");
  std::shared_ptr<const evaluate::NeighbourIndex> index;
  try {
    index = evaluate::open_or_build_neighbour_index(prepared, options, TerminalJob().context());
  } catch (const job::Error& error) {
    throw CliExit(1, std::string("--neighbours: ") + error.what() + (data_dir.empty() ? name_the_data : ""));
  }
  if (!index) throw CliExit(130, "cancelled");
  const auto found = index->nearest(images, k);
  std::cout << "nearest training images by " << evaluate::describe(index->measure())
            << (index->measure_note().empty() ? "" : "; " + index->measure_note()) << "\n";
  std::vector<std::string> names;
  for (std::size_t i = 0; i < found.size(); ++i) {
    names.push_back(std::filesystem::path(files[i]).filename().string());
    std::cout << files[i] << "\n";
    for (const evaluate::Neighbour& n : found[i]) {
      char value[32];
      std::snprintf(value, sizeof(value), "%.4f", n.value);
      std::cout << "  " << value << "  #" << n.index << " " << n.file_name << ": " << n.caption << "\n";
    }
  }
  const std::string path = in(out, "neighbours.json");
  evaluate::write_neighbours_json(path, *index, prepared, names, found);
  std::cout << path << "\n";
}

} // namespace

void add_sample_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("sample", "Generate images from prompts with a trained checkpoint");
  struct Args {
    std::string checkpoint;
    std::string cascade;
    std::string device = "cpu";
    std::vector<std::string> prompts;
    std::vector<double> cfg;
    std::vector<int> steps;
    std::vector<double> aug;
    std::optional<std::uint64_t> seed;
    int n = 1;
    std::string out;
    std::string attention_maps;
    bool attention_steps = false;
    std::string anatomy;
    bool trajectory = false;
    std::vector<int> grid_steps;
    std::string swap;
    double inject = 0;
    int neighbours = 0;
    std::string data;
    std::string cache_root;
    evaluate::NeighbourOptions neighbour_options;
    sample::Request request;
  };
  auto args = std::make_shared<Args>();
  auto* checkpoint = cmd->add_option("--checkpoint", args->checkpoint, "Checkpoint (.safetensors) of a training run")
                         ->check(CLI::ExistingFile);
  auto* cascade = cmd->add_option("--cascade", args->cascade,
                                  "Instead of --checkpoint, a cascade file (JSON): a base checkpoint, then "
                                  "super-resolution stages each enlarging the images of the one before, with per-stage "
                                  "guidance, steps, sampler and aug; writes the last stage's images (--cfg, --steps and "
                                  "--aug set the stages over the file, one value per stage; --sampler sets the base "
                                  "stage; the first --steps and --sampler are also the later stages' where nothing "
                                  "sets theirs)")
                      ->excludes(checkpoint);
  cmd->add_option("--prompt", args->prompts, "Prompt (repeat for several)")->required();
  cmd->add_option("--cfg", args->cfg,
                  "Guidance scale w (default: the preset's cond scale; 1 = off); with --trajectory the scales, "
                  "comma-separated (default 1,3,5,8); with --cascade one per stage, comma-separated")
      ->delimiter(',')
      ->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--steps", args->steps, "Denoising steps; with --cascade one per stage, comma-separated")
      ->delimiter(',')
      ->check(CLI::Range(1, 10000))
      ->default_str(std::to_string(args->request.steps));
  cmd->add_option("--aug", args->aug,
                  "With --cascade, each super-resolution stage's noise conditioning augmentation in [0, 1] "
                  "(comma-separated, the first super-resolution stage first)")
      ->delimiter(',')
      ->check(CLI::Range(0.0, 1.0))
      ->needs(cascade);
  add_sampler_options(cmd, args->request.sampler, args->request.thresholding);
  cmd->add_option("--eta", args->request.eta, "DDIM stochasticity (0 = deterministic)")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--percentile", args->request.threshold_percentile, "Dynamic thresholding percentile")
      ->check(CLI::Range(0.5, 1.0));
  cmd->add_option("--seed", args->seed, "Seed of the first image (the others count up); default: random");
  cmd->add_option("--n", args->n, "Images per prompt")->check(CLI::Range(1, 10000))->capture_default_str();
  cmd->add_option("--device", args->device, "cpu or cuda[:N]")->capture_default_str();
  cmd->add_option("--out", args->out, "Output folder")->required();
  auto* maps = cmd->add_option("--attention-maps", args->attention_maps,
                               "Also write where each word was attended to: <word>.png over all steps and index.json "
                               "into this folder (a subfolder per image when there are several)");
  cmd->add_flag("--attention-steps", args->attention_steps, "With --attention-maps, the maps of every step too")->needs(maps);
  cmd->add_option("--anatomy", args->anatomy,
                  "Also write guidance's anatomy per step as JSON: the size of eps(z,c) - eps(z,null), the cosine of "
                  "the two predictions and the share of values thresholding clips");

  auto* trajectory = cmd->add_flag("--trajectory", args->trajectory,
                                   "One frozen trajectory: the prompt and seed at every --cfg scale in one batch (the "
                                   "same x_T and noise draws), writing trajectory_x0.png and trajectory_xt.png (rows: "
                                   "the scales; columns: --grid-steps) and each scale's image");
  cmd->add_option("--grid-steps", args->grid_steps, "With --trajectory, the steps shown, comma-separated (default: 5 evenly spaced)")
      ->delimiter(',')
      ->check(CLI::PositiveNumber)
      ->needs(trajectory);
  auto* swap = cmd->add_option("--swap", args->swap,
                               "Word swap on one frozen trajectory: FROM=TO (e.g. red=blue) samples the prompt and the "
                               "prompt with FROM replaced with the same seed, writing a.png, b.png, difference.png and "
                               "both images' word maps (maps_a/, maps_b/)")
                   ->excludes(trajectory);
  cmd->add_option("--inject-attention", args->inject,
                  "With --swap, the fraction of the steps in which B uses A's cross-attention (Prompt-to-Prompt); "
                  "the prompts must have as many text pieces")
      ->check(CLI::Range(0.0, 1.0))
      ->needs(swap);

  auto* neighbours = cmd->add_option("--neighbours", args->neighbours,
                                     "Also find each image's K nearest training images (FID Inception cosine with "
                                     "--inception, else pixel l2 on the image cache), printed and written to "
                                     "neighbours.json; the index is built once per dataset")
                          ->check(CLI::Range(1, 1000));
  cmd->add_option("--data", args->data,
                  "With --neighbours, the training data (prepared folder); default: the data of the checkpoint's run")
      ->needs(neighbours);
  cmd->add_option("--cache-root", args->cache_root,
                  "With --neighbours, for a checkpoint trained on the built-in demo dataset whose run no longer holds it "
                  "(the shipped demo model): the folder of dataset caches to write that dataset into again (the "
                  "studio's cache folder, to share it)")
      ->needs(neighbours);
  cmd->add_option("--inception", args->neighbour_options.inception_weights,
                  "With --neighbours, FID Inception weights (pt_inception-2015-12-05-6726825d.pth)")
      ->needs(neighbours);

  cmd->callback([args, cmd] {
    if (args->checkpoint.empty() && args->cascade.empty()) throw CliExit(2, "give --checkpoint or --cascade");
    if (args->cfg.size() > 1 && !args->trajectory && args->cascade.empty())
      throw CliExit(2, "--cfg: several scales need --trajectory or --cascade");
    if (args->steps.size() > 1 && args->cascade.empty()) throw CliExit(2, "--steps: several values need --cascade");
    if (!args->cascade.empty() &&
        (args->trajectory || !args->swap.empty() || !args->attention_maps.empty() || !args->anatomy.empty()))
      throw CliExit(2, "--cascade samples images only (no --trajectory, --swap, --attention-maps or --anatomy)");
    if (args->neighbours > 0 && !args->cascade.empty())
      throw CliExit(2, "--neighbours: not with --cascade (the index is of one stage's training images)");
    if (args->neighbours > 0 && (args->trajectory || !args->swap.empty()))
      throw CliExit(2, "--neighbours: not with --trajectory or --swap");
    if ((args->trajectory || !args->swap.empty()) && (args->prompts.size() != 1 || args->n != 1))
      throw CliExit(2, std::string(args->trajectory ? "--trajectory" : "--swap") + " samples one prompt (no --n)");
    sample::Request request = args->request;
    if (!args->steps.empty()) request.steps = args->steps.front();
    const std::uint64_t first_seed = args->seed.value_or(std::random_device{}());
    for (const auto& prompt : args->prompts) {
      for (int i = 0; i < args->n; ++i) {
        request.prompts.push_back(prompt);
        request.seeds.push_back(first_seed + request.seeds.size());
      }
    }
    std::error_code error;
    std::filesystem::create_directories(args->out, error);
    if (error) throw CliExit(1, "cannot create " + args->out + ": " + error.message());
    if (!args->cascade.empty()) {
      sample::Cascade read;
      try {
        read = sample::read_cascade(args->cascade);
      } catch (const std::runtime_error& e) {
        throw CliExit(2, e.what());
      }
      StageOverrides overrides{args->cfg, args->steps, args->aug, std::nullopt};
      if (cmd->count("--sampler") > 0) overrides.sampler = request.sampler;
      return sample_cascade(std::filesystem::absolute(args->cascade).string(), read, overrides, request, args->device,
                            args->out);
    }

    sample::Generator generator(args->checkpoint, args->device);
    request.guidance = args->cfg.empty() ? generator.info().default_guidance : args->cfg.front();

    if (args->trajectory) return write_trajectory(generator, request, !args->cfg.empty() ? args->cfg : sample::kTrajectoryScales,
                                                  args->grid_steps, args->out);
    if (!args->swap.empty()) return write_word_swap(generator, request, args->swap, args->inject, args->out);

    sample::AttentionMaps attention;
    sample::GuidanceAnatomy anatomy;
    const bool record = !args->attention_maps.empty();
    sample::Probes probes;
    if (record) probes.attention = &attention;
    if (!args->anatomy.empty()) probes.guidance = &anatomy;
    const auto images = generator.generate(request, TerminalJob().context(), {}, probes);
    if (images.empty()) throw CliExit(130, "cancelled");
    if (!args->anatomy.empty()) {
      sample::write_guidance_anatomy(args->anatomy, anatomy, request.prompts);
      std::cout << args->anatomy << "\n";
    }
    std::vector<std::string> files;
    for (size_t i = 0; i < images.size(); ++i) {
      const std::string stem = "image_" + std::to_string(i) + "_seed" + std::to_string(request.seeds[i]);
      const std::string path = (std::filesystem::path(args->out) / (stem + ".png")).string();
      sample::write_png(path, images[i], generator.metadata(request, i));
      files.push_back(path);
      std::cout << path << "\n";
      if (!record) continue;
      const std::filesystem::path maps_dir =
          images.size() == 1 ? std::filesystem::path(args->attention_maps) : std::filesystem::path(args->attention_maps) / stem;
      sample::write_attention_maps(maps_dir.string(), attention, static_cast<int>(i), images[i], args->attention_steps);
      std::cout << (maps_dir / "index.json").string() << "\n";
    }
    args->neighbour_options.device = args->device;
    if (args->neighbours > 0)
      write_neighbours(images, files, args->neighbours, args->checkpoint, args->data, args->cache_root, args->neighbour_options,
                       args->out);
  });

  auto* exporter = app.add_subcommand("export", "Write a sampling-only copy of a checkpoint (EMA weights, optionally float16)");
  auto export_args = std::make_shared<std::pair<std::string, std::string>>();
  auto fp16 = std::make_shared<bool>(false);
  exporter->add_option("--checkpoint", export_args->first, "Training checkpoint")->required()->check(CLI::ExistingFile);
  exporter->add_option("--out", export_args->second, "Output .safetensors file")->required();
  exporter->add_flag("--fp16", *fp16, "Store the weights as float16 (half the size)");
  exporter->callback([export_args, fp16] {
    sample::export_for_sampling(export_args->first, export_args->second, *fp16);
    std::cout << export_args->second << " (" << std::filesystem::file_size(export_args->second) << " bytes)\n";
  });
}

void add_sampler_options(CLI::App* cmd, diffusion::SamplerKind& sampler, diffusion::ThresholdKind& thresholding) {
  std::string help;
  for (const diffusion::SamplerInfo& info : diffusion::sampler_infos())
    help += (help.empty() ? "" : "; ") + info.name + " " + info.summary;
  cmd->add_option_function<std::string>(
         "--sampler", [&sampler](const std::string& name) { sampler = diffusion::parse_sampler_kind(name); }, help)
      ->check(CLI::IsMember(diffusion::sampler_kind_names()))
      ->default_str(diffusion::to_string(sampler));
  cmd->add_option_function<std::string>(
         "--threshold", [&thresholding](const std::string& name) { thresholding = diffusion::parse_threshold_kind(name); },
         "What happens to the predicted x0 at every step: none (needs the ddpm sampler; the deterministic ones saturate), static or dynamic")
      ->check(CLI::IsMember(diffusion::threshold_kind_names()))
      ->default_str(diffusion::to_string(thresholding));
}

} // namespace t2i::cli
