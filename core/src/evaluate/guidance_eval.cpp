#include "t2i/evaluate.h"

#include "data/demo_scene.h"
#include "data/prepared_dataset.h"
#include "io/device.h"
#include "model/checkpoint_file.h"
#include "sample/sampling.h"
#include "t2i/sample.h"
#include "train/fid_hook.h"
#include "train/validation.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

namespace t2i::evaluate {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::int64_t kBatch = 16;  // images sampled together

std::optional<double> rate(std::int64_t hits, std::int64_t total) {
  if (total == 0) return std::nullopt;
  return static_cast<double>(hits) / static_cast<double>(total);
}

std::string format(const std::optional<double>& value, const char* pattern) {
  if (!value) return "n/a";
  char text[32];
  std::snprintf(text, sizeof(text), pattern, *value);
  return text;
}

// The demo grain measure over the first `count` images of a split whose captions are demo captions.
std::optional<double> mean_background(const data::PreparedDataset& dataset, const std::vector<data::ManifestImage>& images,
                                      std::int64_t count) {
  double total = 0;
  std::int64_t measured = 0;
  const int size = dataset.image_size();
  for (std::int64_t i = 0; i < std::min<std::int64_t>(count, static_cast<std::int64_t>(images.size())); ++i) {
    const auto& image = images[static_cast<size_t>(i)];
    if (image.captions.empty() || !data::demo::parse_caption(dataset.captions()[image.captions.front()])) continue;
    const double noise = data::demo_background_noise(dataset.cache().pixels(image.slot), size, size);
    if (!std::isnan(noise)) total += noise, ++measured;
  }
  if (measured == 0) return std::nullopt;
  return total / static_cast<double>(measured);
}

nlohmann::json maybe(const std::optional<double>& value) { return value ? nlohmann::json(*value) : nlohmann::json(); }

} // namespace

GuidanceEvalReport evaluate_guidance(const GuidanceEvalOptions& options, const job::Context& job) {
  if (options.scales.empty()) throw std::invalid_argument("no guidance scale given");
  for (double w : options.scales)
    if (!(w >= 0 && w <= 100)) throw std::invalid_argument("guidance scale " + std::to_string(w) + " is outside [0, 100]");
  if (options.samples < 1) throw std::invalid_argument("samples per scale must be at least 1");
  const data::Split split = options.split;
  if (split == data::Split::Train) throw std::invalid_argument("the guidance analysis reads the val or test split, not train");
  const torch::Device device = io::parse_device(options.device);

  const model::Checkpoint checkpoint = model::read_checkpoint(options.checkpoint);
  auto model = sample::TextToImageModel::for_sampling(checkpoint, options.checkpoint, device);
  if (model->preset().super_resolution())
    throw std::runtime_error(options.checkpoint + " holds a super-resolution stage: it enlarges images rather than drawing them "
                             "from captions, and is measured against bicubic enlargement (evaluate_super_resolution)");
  const std::string folder = training_data_folder(options.checkpoint, options.cache_dir);
  const auto dataset = data::PreparedDataset::open(folder);
  const auto& images = dataset->images(split);
  if (images.empty()) throw std::runtime_error(folder + ": the " + data::to_string(split) + " split has no images");
  if (dataset->image_size() != model->image_size())
    throw std::runtime_error(folder + " holds " + std::to_string(dataset->image_size()) + "-pixel images, but " +
                             options.checkpoint + " generates " + std::to_string(model->image_size()));

  GuidanceEvalReport report;
  report.checkpoint = options.checkpoint;
  report.step = checkpoint.meta.value("step", std::int64_t{0});
  report.split = data::to_string(split);
  report.samples = options.samples;
  const model::Preset& preset = model->preset();
  job.count("validation P2", 0, 1);
  report.val_p2 = train::validation_p2(*model, train::p2_loss(preset), dataset, split, preset.eval_val_steps, preset.batch_size,
                                std::int64_t{preset.max_batch_size} * 2, std::nullopt, job.cancel);

  const std::unique_ptr<eval::FidEvaluator> fid =
      eval::open_fid_evaluator(options.inception_weights, options.device, report.fid_status);
  eval::ReferenceStats reference;
  if (fid) {
    reference = train::split_reference(*fid, *dataset, split, folder, model->image_size(), job);
  }

  report.data_background = mean_background(*dataset, images, options.samples);

  // The same captions and seeds at every scale: only the guidance differs between rows.
  std::vector<std::string> prompts;
  for (int i = 0; i < options.samples; ++i) {
    const auto& image = images[static_cast<size_t>(i) % images.size()];
    prompts.push_back(image.captions.empty() ? std::string() : dataset->captions()[image.captions.front()]);
  }
  if (!options.samples_dir.empty()) fs::create_directories(options.samples_dir);

  for (double guidance : options.scales) {
    const auto start = Clock::now();
    sample::SamplingSettings settings;
    settings.guidance = guidance;
    settings.sampler = options.sampler;
    settings.steps = options.steps;
    settings.thresholding.kind = options.thresholding;
    ScaleResult row;
    row.guidance = guidance;
    std::vector<torch::Tensor> features;
    std::int64_t colour = 0, shape = 0, match = 0, parsed = 0;
    double background = 0;
    std::int64_t backgrounds = 0;
    for (std::int64_t first = 0; first < options.samples; first += kBatch) {
      const std::int64_t count = std::min<std::int64_t>(kBatch, options.samples - first);
      std::vector<std::string> batch_prompts(prompts.begin() + first, prompts.begin() + first + count);
      std::vector<std::uint64_t> seeds;
      for (std::int64_t i = first; i < first + count; ++i) seeds.push_back(static_cast<std::uint64_t>(i));
      torch::Tensor samples;
      try {
        samples = sample::sample_images(*model, batch_prompts, seeds, settings, {}, job.cancel);
      } catch (const diffusion::SamplingCancelled&) {
        report.cancelled = true;
        return report;
      }
      for (std::int64_t i = 0; i < count; ++i) {
        const t2i::Image image = sample::to_image(samples[i]);
        const data::DemoCheck check = data::check_demo_image(image.rgb.data(), image.width, image.height, batch_prompts[i]);
        if (check.parsed) {
          ++parsed;
          colour += check.colour_ok;
          shape += check.shape_ok;
          match += check.match();
          const double noise = data::demo_background_noise(image.rgb.data(), image.width, image.height);
          if (std::isnan(noise)) ++row.demo_no_background;
          else background += noise, ++backgrounds;
        }
        if (!options.samples_dir.empty()) {
          char name[64];
          std::snprintf(name, sizeof(name), "cfg%g_%04lld.png", guidance, static_cast<long long>(first + i));
          sample::write_png((fs::path(options.samples_dir) / name).string(), image,
                            {{"prompt", batch_prompts[i]}, {"seed", std::to_string(first + i)}, {"cfg", std::to_string(guidance)}});
        }
      }
      if (fid) features.push_back(fid->features(((samples + 1) / 2).clamp(0, 1)));
      job.count("guidance " + format(guidance, "%g"), first + count, options.samples);
    }
    row.demo_colour = rate(colour, parsed);
    row.demo_shape = rate(shape, parsed);
    row.demo_match = rate(match, parsed);
    if (backgrounds > 0) row.demo_background = background / static_cast<double>(backgrounds);
    if (fid) {
      eval::KidOptions kid;
      kid.subset_size = std::min<std::int64_t>(kid.subset_size, options.samples);
      const eval::Score score = fid->score(torch::cat(features), reference, options.samples >= 2 ? std::optional(kid) : std::nullopt);
      row.fid = score.fid.fid;
      if (score.kid) row.kid = score.kid->mean;
      row.fid_note = score.summary();
    } else {
      row.fid_note = report.fid_status;
    }
    row.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    report.scales.push_back(row);
  }
  return report;
}

std::string to_table(const GuidanceEvalReport& report) {
  std::ostringstream out;
  out << report.checkpoint << " (step " << report.step << "), " << report.samples << " samples per scale from the "
      << report.split << " split\nvalidation P2 loss " << format(report.val_p2, "%.5f") << "\n";
  out << "grain: std of the grey around the objects (of 255); no-bg: samples with no grey left to measure\n";
  if (report.data_background) out << "background grain of the split's images " << format(report.data_background, "%.2f") << " (of 255)\n";
  if (!report.fid_status.empty()) out << report.fid_status << "\n";
  out << "  cfg      FID      KID   colour   shape   match   grain  no-bg   seconds\n";
  for (const ScaleResult& row : report.scales) {
    char line[160];
    std::snprintf(line, sizeof(line), "%5s %8s %8s %8s %7s %7s %7s %6lld %9.1f\n", format(row.guidance, "%g").c_str(),
                  format(row.fid, "%.2f").c_str(), format(row.kid, "%.4f").c_str(), format(row.demo_colour, "%.3f").c_str(),
                  format(row.demo_shape, "%.3f").c_str(), format(row.demo_match, "%.3f").c_str(),
                  format(row.demo_background, "%.2f").c_str(), static_cast<long long>(row.demo_no_background), row.seconds);
    out << line;
  }
  if (report.cancelled) out << "cancelled\n";
  return out.str();
}

std::string to_json(const GuidanceEvalReport& report) {
  nlohmann::json rows = nlohmann::json::array();
  for (const ScaleResult& row : report.scales)
    rows.push_back({{"cfg", row.guidance}, {"fid", maybe(row.fid)}, {"kid", maybe(row.kid)}, {"fid_note", row.fid_note},
                    {"demo_colour", maybe(row.demo_colour)}, {"demo_shape", maybe(row.demo_shape)},
                    {"demo_match", maybe(row.demo_match)}, {"demo_background", maybe(row.demo_background)},
                    {"demo_no_background", row.demo_no_background},
                    {"seconds", row.seconds}});
  return nlohmann::json{{"checkpoint", report.checkpoint}, {"step", report.step}, {"split", report.split},
                        {"samples", report.samples}, {"val_p2", report.val_p2},
                        {"data_background", maybe(report.data_background)}, {"fid_status", report.fid_status},
                        {"scales", rows}, {"cancelled", report.cancelled}}
      .dump(2);
}

} // namespace t2i::evaluate
