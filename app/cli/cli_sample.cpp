#include "commands.h"
#include "terminal_job.h"

#include "t2i/sample.h"

#include <filesystem>
#include <iostream>
#include <random>

namespace t2i::cli {

void add_sample_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("sample", "Generate images from prompts with a trained checkpoint");
  struct Args {
    std::string checkpoint;
    std::string device = "cpu";
    std::vector<std::string> prompts;
    std::optional<double> cfg;
    std::optional<std::uint64_t> seed;
    int n = 1;
    std::string out;
    std::string attention_maps;
    bool attention_steps = false;
    std::string anatomy;
    sample::Request request;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--checkpoint", args->checkpoint, "Checkpoint (.safetensors) of a training run")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--prompt", args->prompts, "Prompt (repeat for several)")->required();
  cmd->add_option("--cfg", args->cfg, "Guidance scale w (default: the preset's cond scale; 1 = off)")
      ->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--steps", args->request.steps, "Denoising steps")->check(CLI::Range(1, 10000))->capture_default_str();
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

  cmd->callback([args] {
    sample::Generator generator(args->checkpoint, args->device);
    sample::Request request = args->request;
    request.guidance = args->cfg.value_or(generator.info().default_guidance);
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
    for (size_t i = 0; i < images.size(); ++i) {
      const std::string stem = "image_" + std::to_string(i) + "_seed" + std::to_string(request.seeds[i]);
      const std::string path = (std::filesystem::path(args->out) / (stem + ".png")).string();
      sample::write_png(path, images[i], generator.metadata(request, i));
      std::cout << path << "\n";
      if (!record) continue;
      const std::filesystem::path maps_dir =
          images.size() == 1 ? std::filesystem::path(args->attention_maps) : std::filesystem::path(args->attention_maps) / stem;
      sample::write_attention_maps(maps_dir.string(), attention, static_cast<int>(i), images[i], args->attention_steps);
      std::cout << (maps_dir / "index.json").string() << "\n";
    }
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
