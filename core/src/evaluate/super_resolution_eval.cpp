// t2i::evaluate::evaluate_super_resolution: a stage's output and the bicubic enlargement of its
// input, each against the held-out image both came from (t2i/evaluate.h).
#include "t2i/evaluate.h"

#include "data/image_pairs.h"
#include "data/prepared_dataset.h"
#include "diffusion/noise_augmentation.h"
#include "eval/psnr.h"
#include "io/device.h"
#include "model/checkpoint_file.h"
#include "sample/sampling.h"
#include "t2i/model.h"
#include "t2i/sample.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <sstream>

namespace t2i::evaluate {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::int64_t kBatch = 16;  // images enlarged together

std::string decibels(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f dB", value);
  return text;
}

} // namespace

bool is_super_resolution_checkpoint(const std::string& checkpoint) {
  return model::stored_preset(model::read_checkpoint_meta(checkpoint), checkpoint).super_resolution();
}

SuperResolutionEvalReport evaluate_super_resolution(const SuperResolutionEvalOptions& options, const job::Context& job) {
  if (options.images < 1) throw std::invalid_argument("at least one image is needed");
  if (options.split == data::Split::Train) throw std::invalid_argument("the PSNR comparison reads held-out images: val or test, not train");
  for (double w : options.scales)
    if (!(w >= 0 && w <= 100)) throw std::invalid_argument("guidance scale " + std::to_string(w) + " is outside [0, 100]");
  const torch::Device device = io::parse_device(options.device);
  const model::Checkpoint checkpoint = model::read_checkpoint(options.checkpoint);
  const model::Preset stored = model::stored_preset(checkpoint.meta, options.checkpoint);
  if (!stored.super_resolution())
    throw std::runtime_error(options.checkpoint + " holds base model " + stored.name + ", not a super-resolution stage");
  auto model = sample::TextToImageModel::for_sampling(checkpoint, options.checkpoint, device);
  const model::Preset& preset = model->preset();
  const int size = preset.unet.image_size;
  const int low_size = preset.unet.low_res_size;

  const std::string folder = training_data_folder(options.checkpoint, options.cache_dir);
  const auto dataset = data::PreparedDataset::open(folder);
  const auto& images = dataset->images(options.split);
  if (images.empty()) throw std::runtime_error(folder + ": the " + data::to_string(options.split) + " split has no images");
  const auto count = static_cast<std::int64_t>(std::min<std::size_t>(static_cast<std::size_t>(options.images), images.size()));
  std::vector<std::size_t> positions(static_cast<std::size_t>(count));
  std::iota(positions.begin(), positions.end(), std::size_t{0});
  const data::ImagePairs pairs = data::image_pairs(*dataset, options.split, positions, size, low_size);
  std::vector<std::string> prompts;
  for (const std::size_t p : positions)
    prompts.push_back(images[p].captions.empty() ? std::string() : dataset->captions()[images[p].captions.front()]);

  SuperResolutionEvalReport report;
  report.checkpoint = options.checkpoint;
  report.step = checkpoint.meta.value("step", std::int64_t{0});
  report.split = data::to_string(options.split);
  report.images = static_cast<int>(count);
  report.low_res_size = low_size;
  report.image_size = size;
  report.aug = options.aug.value_or(preset.sample_aug);
  report.steps = options.steps;
  report.bicubic_psnr = eval::psnr(diffusion::upsample_low_res(pairs.low, size), pairs.high).mean().item<double>();

  if (!options.samples_dir.empty()) fs::create_directories(options.samples_dir);
  const std::vector<double> scales = options.scales.empty() ? std::vector<double>{preset.cond_scale} : options.scales;
  for (const double guidance : scales) {
    const auto start = Clock::now();
    sample::SamplingSettings settings;
    settings.guidance = guidance;
    settings.sampler = options.sampler;
    settings.steps = options.steps;
    settings.thresholding.kind = options.thresholding;
    settings.aug = report.aug;
    std::vector<torch::Tensor> outputs;
    for (std::int64_t first = 0; first < count; first += kBatch) {
      const std::int64_t last = std::min(count, first + kBatch);
      std::vector<std::uint64_t> seeds;
      for (std::int64_t i = first; i < last; ++i) seeds.push_back(static_cast<std::uint64_t>(i));
      settings.low_res = pairs.low.slice(0, first, last);
      try {
        outputs.push_back(sample::sample_images(*model, {prompts.begin() + first, prompts.begin() + last}, seeds, settings, {},
                                                job.cancel));
      } catch (const diffusion::SamplingCancelled&) {
        report.cancelled = true;
        return report;
      }
      if (!options.samples_dir.empty())
        for (std::int64_t i = first; i < last; ++i) {
          char name[64];
          std::snprintf(name, sizeof(name), "sr_cfg%g_%04lld.png", guidance, static_cast<long long>(i));
          sample::write_png((fs::path(options.samples_dir) / name).string(), sample::to_image(outputs.back()[i - first]),
                            {{"prompt", prompts[static_cast<std::size_t>(i)]}, {"seed", std::to_string(i)},
                             {"cfg", std::to_string(guidance)}});
        }
      job.count("guidance " + std::to_string(guidance), last, count);
    }
    SuperResolutionScale row;
    row.guidance = guidance;
    row.psnr = eval::psnr(torch::cat(outputs), pairs.high).mean().item<double>();
    row.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    report.scales.push_back(row);
  }
  return report;
}

std::string to_table(const SuperResolutionEvalReport& report) {
  std::ostringstream out;
  out << report.checkpoint << " (step " << report.step << "): super-resolution " << report.low_res_size << "->" << report.image_size
      << " on the first " << report.images << " images of the " << report.split << " split, aug " << report.aug << ", "
      << report.steps << " sampling steps\n";
  out << "PSNR against the " << report.image_size << "x" << report.image_size << " images:\n";
  out << "  bicubic            " << decibels(report.bicubic_psnr) << "\n";
  for (const SuperResolutionScale& row : report.scales) {
    char label[48];
    std::snprintf(label, sizeof(label), "  stage, cfg %-6g ", row.guidance);
    out << label << " " << decibels(row.psnr) << " (" << static_cast<long long>(row.seconds) << " s)\n";
  }
  if (report.cancelled) out << "cancelled\n";
  return out.str();
}

std::string to_json(const SuperResolutionEvalReport& report) {
  nlohmann::json rows = nlohmann::json::array();
  for (const SuperResolutionScale& row : report.scales)
    rows.push_back({{"cfg", row.guidance}, {"psnr", row.psnr}, {"seconds", row.seconds}});
  return nlohmann::json{{"checkpoint", report.checkpoint}, {"step", report.step}, {"split", report.split},
                        {"images", report.images}, {"low_res_size", report.low_res_size}, {"image_size", report.image_size},
                        {"aug", report.aug}, {"steps", report.steps}, {"bicubic_psnr", report.bicubic_psnr},
                        {"scales", rows}, {"cancelled", report.cancelled}}
      .dump(2);
}

} // namespace t2i::evaluate
