#include "train/probe_gallery.h"

#include "t2i/diffusion.h"
#include "t2i/runs.h"

#include "data/image_decode.h"
#include "data/image_transform.h"
#include "data/png_write.h"
#include "diffusion/sampler.h"
#include "io/atomic_file.h"
#include "io/format_version.h"
#include "sample/sampling.h"
#include "train/label_font.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace t2i::train {
namespace {

// probes/index.json. 1.0: the probes, the sampling settings, the recorded steps and one sheet per
// evaluation (t2i/probe_gallery.h describes the sheets' layout).
const io::JsonFormat& gallery_format() {
  static const io::JsonFormat format{"probe gallery", {1, 0}, {}};
  return format;
}

constexpr int kLabelScale = 2;                  // the label font's pixels per font pixel
constexpr int kPad = 6;
constexpr int kMinimumCell = 64;                // grid cells are enlarged to at least this edge
constexpr std::array<std::uint8_t, 3> kInk{0, 0, 0};

std::string step_text(int recorded_step, int total) { return std::to_string(recorded_step) + "/" + std::to_string(total); }

std::string kind_text(ProbeImage kind) { return kind == ProbeImage::Estimate ? "X0" : "XT"; }

} // namespace

Probe ProbeGallery::probe(int index) const {
  if (index < 0 || index >= probe_count())
    throw std::out_of_range("probe " + std::to_string(index) + " does not exist (the gallery has " +
                            std::to_string(probe_count()) + ": 0 to " + std::to_string(probe_count() - 1) + ")");
  const auto scales = static_cast<int>(guidance.size());
  const auto seed_count = static_cast<int>(seeds.size());
  const int prompt_seed = index / scales;
  return {prompts[static_cast<std::size_t>(prompt_seed / seed_count)], seeds[static_cast<std::size_t>(prompt_seed % seed_count)],
          guidance[static_cast<std::size_t>(index % scales)]};
}

std::string ProbeGallery::probe_label(int index) const {
  const Probe p = probe(index);
  char scale[16];
  std::snprintf(scale, sizeof scale, "%g", p.guidance);
  return "#" + std::to_string(index) + " w=" + scale + " seed " + std::to_string(p.seed) + ": " + p.prompt;
}

ProbeGallery plan_probe_gallery(std::vector<std::string> prompts, std::int64_t sampling_steps, int image_size) {
  ProbeGallery gallery;
  gallery.prompts = std::move(prompts);
  for (int s = 0; s < kProbeSeeds; ++s) gallery.seeds.push_back(static_cast<std::uint64_t>(s));
  gallery.guidance.assign(std::begin(kProbeGuidance), std::end(kProbeGuidance));
  gallery.sampler = diffusion::to_string(diffusion::kDefaultSampler);
  gallery.thresholding = diffusion::to_string(diffusion::Thresholding{}.kind);
  gallery.sampling_steps = static_cast<int>(sampling_steps);
  gallery.image_size = image_size;
  // Evenly over the steps, first and last included; fewer when the sampler takes fewer steps.
  const int wanted = std::min<int>(kProbeRecordedSteps, gallery.sampling_steps);
  for (int k = 0; k < wanted; ++k) {
    const int step = wanted == 1 ? gallery.sampling_steps
                                 : 1 + static_cast<int>(std::lround(static_cast<double>(k) * (gallery.sampling_steps - 1) / (wanted - 1)));
    if (gallery.recorded_steps.empty() || gallery.recorded_steps.back() != step) gallery.recorded_steps.push_back(step);
  }
  return gallery;
}

ProbeRecorder::ProbeRecorder(const RunFolder& folder, ProbeGallery plan, std::optional<std::int64_t> resumed_step,
                             std::string& note)
    : folder_(folder), gallery_(std::move(plan)) {
  std::optional<ProbeGallery> stored;
  std::error_code error;
  if (fs::exists(folder_.probe_index_path(), error)) stored = read_probe_gallery(folder_.root());
  // Evaluations after the resumed checkpoint are redone (a fresh run redoes them all): their
  // entries go, and then their sheets, so the index never lists an evaluation twice nor a
  // missing sheet.
  const auto kept = [&](const ProbeGallery::Evaluation& e) { return resumed_step && e.step <= *resumed_step; };
  std::vector<std::string> dropped;
  if (stored)
    for (const auto& e : stored->evaluations)
      if (!kept(e)) dropped.push_back(e.sheet);
  if (resumed_step && stored) {
    if (stored->prompts != gallery_.prompts)
      note = "The probe gallery keeps the " + std::to_string(stored->prompts.size()) +
             " probe prompts this run started with; changed probe prompts apply to new runs";
    gallery_ = std::move(*stored);
  }
  auto& evaluations = gallery_.evaluations;
  evaluations.erase(std::stable_partition(evaluations.begin(), evaluations.end(), kept), evaluations.end());
  write_index();
  for (const std::string& sheet : dropped) fs::remove(sheet, error);
}

bool ProbeRecorder::record(sample::TextToImageModel& model, std::int64_t step, const job::CancelToken* cancel,
                           const torch::Tensor& low_res) {
  const int size = gallery_.image_size;
  const auto recorded = gallery_.recorded_steps;
  const int k_count = static_cast<int>(recorded.size());
  Image sheet(2 * k_count * size, gallery_.probe_count() * size);
  std::vector<double> times(recorded.size(), 0.0);

  sample::SamplingSettings settings;
  settings.sampler = diffusion::parse_sampler_kind(gallery_.sampler);
  settings.thresholding.kind = diffusion::parse_threshold_kind(gallery_.thresholding);
  settings.steps = gallery_.sampling_steps;
  std::vector<std::string> prompts;
  std::vector<std::uint64_t> seeds;
  for (const std::string& prompt : gallery_.prompts)
    for (const std::uint64_t seed : gallery_.seeds) {
      prompts.push_back(prompt);
      seeds.push_back(seed);
    }
  if (low_res.defined()) settings.low_res = low_res.repeat_interleave(static_cast<std::int64_t>(gallery_.seeds.size()), 0);
  // One batch per guidance scale; image i of a batch is prompt × seed i, so its probe is i × scales + scale.
  const auto scales = static_cast<int>(gallery_.guidance.size());
  for (int s = 0; s < scales; ++s) {
    settings.guidance = gallery_.guidance[static_cast<std::size_t>(s)];
    const diffusion::StepObserver keep = [&](const diffusion::StepReport& report) {
      const auto at = std::find(recorded.begin(), recorded.end(), static_cast<int>(report.index + 1));
      if (at == recorded.end()) return;
      const int k = static_cast<int>(at - recorded.begin());
      times[static_cast<std::size_t>(k)] = report.t;
      for (std::int64_t i = 0; i < report.x_t.size(0); ++i) {
        const int probe = static_cast<int>(i) * scales + s;
        data::paste(sheet, sample::to_image(report.x_0[i]), k * size, probe * size);
        data::paste(sheet, sample::to_image(report.x_t[i]), (k_count + k) * size, probe * size);
      }
    };
    try {
      sample::sample_images(model, prompts, seeds, settings, keep, cancel);
    } catch (const diffusion::SamplingCancelled&) {
      return false;
    }
  }
  const std::string path = folder_.probe_sheet_path(step);
  data::write_png(path, sheet, {{"step", std::to_string(step)}});
  sheet_ = std::move(sheet);
  gallery_.recorded_t = times;
  auto& evaluations = gallery_.evaluations;  // a step evaluated again replaces its entry
  evaluations.erase(std::remove_if(evaluations.begin(), evaluations.end(), [step](const auto& e) { return e.step == step; }),
                    evaluations.end());
  evaluations.push_back({step, path});
  write_index();
  return true;
}

std::vector<Image> ProbeRecorder::final_images() const {
  std::vector<Image> finals;
  if (sheet_.rgb.empty()) return finals;
  for (int p = 0; p < gallery_.probe_count(); ++p)
    finals.push_back(probe_tile(gallery_, sheet_, p, gallery_.recorded_steps.size() - 1, ProbeImage::Estimate));
  return finals;
}

void ProbeRecorder::write_index() const {
  nlohmann::json index;
  io::stamp_document(gallery_format(), index);
  index["prompts"] = gallery_.prompts;
  index["seeds"] = gallery_.seeds;
  index["guidance"] = gallery_.guidance;
  index["sampler"] = gallery_.sampler;
  index["thresholding"] = gallery_.thresholding;
  index["sampling_steps"] = gallery_.sampling_steps;
  index["recorded_steps"] = gallery_.recorded_steps;
  index["recorded_t"] = gallery_.recorded_t;
  index["image_size"] = gallery_.image_size;
  index["sheet_layout"] = "row p: probe p = (prompt * seeds + seed) * scales + scale; column k < K: x0 estimate at "
                          "recorded step k; column K + k: x_t there";
  index["evaluations"] = nlohmann::json::array();
  for (const auto& e : gallery_.evaluations)
    index["evaluations"].push_back({{"step", e.step}, {"sheet", fs::path(e.sheet).filename().string()}});
  io::write_file_atomically(folder_.probe_index_path(), index.dump(2) + "\n");
}

std::optional<ProbeGallery> read_probe_gallery(const std::string& run_dir) {
  if (!is_run_folder(run_dir))
    throw std::runtime_error(run_dir + " is not a training run folder (no metrics.jsonl or config.json)");
  const RunFolder folder(run_dir, /*create=*/false);
  const std::string path = folder.probe_index_path();
  std::error_code error;
  if (!fs::exists(path, error)) return std::nullopt;
  std::ifstream in(path);
  nlohmann::json index = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!index.is_object()) throw std::runtime_error(path + ": not a JSON object (a damaged probe gallery index)");
  io::upgrade_document(gallery_format(), index, path);
  ProbeGallery gallery;
  try {
    gallery.prompts = index.at("prompts").get<std::vector<std::string>>();
    gallery.seeds = index.at("seeds").get<std::vector<std::uint64_t>>();
    gallery.guidance = index.at("guidance").get<std::vector<double>>();
    gallery.sampler = index.at("sampler").get<std::string>();
    gallery.thresholding = index.at("thresholding").get<std::string>();
    gallery.sampling_steps = index.at("sampling_steps").get<int>();
    gallery.recorded_steps = index.at("recorded_steps").get<std::vector<int>>();
    gallery.recorded_t = index.value("recorded_t", std::vector<double>{});
    gallery.image_size = index.at("image_size").get<int>();
    for (const auto& e : index.at("evaluations"))
      gallery.evaluations.push_back({e.at("step").get<std::int64_t>(),
                                     (fs::path(folder.probes_dir()) / e.at("sheet").get<std::string>()).string()});
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
  if (gallery.probe_count() == 0 || gallery.recorded_steps.empty() || gallery.image_size <= 0)
    throw std::runtime_error(path + ": no probes, no recorded steps or no image size");
  return gallery;
}

Image read_probe_sheet(const ProbeGallery& gallery, std::size_t evaluation) {
  const std::string& path = gallery.evaluations.at(evaluation).sheet;
  Image sheet = data::decode_image_file(path);
  const int width = 2 * static_cast<int>(gallery.recorded_steps.size()) * gallery.image_size;
  const int height = gallery.probe_count() * gallery.image_size;
  if (sheet.width != width || sheet.height != height)
    throw std::runtime_error(path + ": the sheet is " + std::to_string(sheet.width) + "x" + std::to_string(sheet.height) +
                             " pixels, but the gallery's index gives " + std::to_string(width) + "x" + std::to_string(height));
  return sheet;
}

Image probe_tile(const ProbeGallery& gallery, const Image& sheet, int probe, std::size_t recorded, ProbeImage kind) {
  const int size = gallery.image_size;
  const int column = static_cast<int>(recorded) + (kind == ProbeImage::Noisy ? static_cast<int>(gallery.recorded_steps.size()) : 0);
  return data::crop(sheet, column * size, probe * size, size, size);
}

GalleryGrid gallery_grid(const ProbeGallery& gallery, const GalleryGridOptions& options) {
  if (gallery.evaluations.empty()) throw std::runtime_error("the probe gallery has no evaluation yet");
  if (options.probe) gallery.probe(*options.probe);  // throws naming the range
  const bool training = options.axis == GalleryAxis::Training;
  if (!training && !options.probe && gallery.probe_count() > 1)
    throw std::runtime_error("a grid over denoising steps shows one probe: choose it (0 to " +
                             std::to_string(gallery.probe_count() - 1) + ")");
  const int probe = options.probe.value_or(0);
  const std::size_t last = gallery.recorded_steps.size() - 1;

  std::vector<int> probes;
  if (training && !options.probe)
    for (int p = 0; p < gallery.probe_count(); ++p) probes.push_back(p);
  else
    probes.push_back(probe);
  std::vector<std::string> column_labels, row_labels;
  if (training) {
    for (const auto& e : gallery.evaluations) column_labels.push_back(std::to_string(e.step));
    for (const int p : probes) {
      const Probe it = gallery.probe(p);
      char label[64];
      // "P" rather than "#", which the 3×5 font draws like an "H".
      std::snprintf(label, sizeof label, "P%d W=%g S=%llu", p, it.guidance, static_cast<unsigned long long>(it.seed));
      row_labels.push_back(label);
    }
  } else {
    for (const int s : gallery.recorded_steps) column_labels.push_back(step_text(s, gallery.sampling_steps));
    for (const auto& e : gallery.evaluations) row_labels.push_back("STEP " + std::to_string(e.step));
  }
  const std::string title =
      training ? kind_text(options.kind) + " AT SAMPLING STEP " + step_text(gallery.recorded_steps[last], gallery.sampling_steps) +
                     " - COLUMNS: TRAINING STEP"
               : "PROBE " + std::to_string(probe) + " " + kind_text(options.kind) + " - ROWS: TRAINING STEP - COLUMNS: SAMPLING STEP";

  GalleryGrid grid;
  grid.scale = std::max(1, (kMinimumCell + gallery.image_size - 1) / gallery.image_size);
  const int cell = grid.scale * gallery.image_size;
  grid.gap = kPad;
  grid.rows = static_cast<int>(row_labels.size());
  grid.columns = static_cast<int>(column_labels.size());
  int widest_row_label = 0;
  for (const auto& label : row_labels) widest_row_label = std::max(widest_row_label, label_width(label, kLabelScale));
  grid.left = kPad + widest_row_label + kPad;
  grid.top = kPad + 2 * (label_height(kLabelScale) + kPad);
  const int width = std::max(grid.left + grid.columns * (cell + grid.gap), 2 * kPad + label_width(title, kLabelScale));
  grid.image = Image(width, grid.top + grid.rows * (cell + grid.gap));
  std::fill(grid.image.rgb.begin(), grid.image.rgb.end(), std::uint8_t{255});
  draw_label(grid.image, kPad, kPad, title, kLabelScale, kInk);
  const int labels_y = kPad + label_height(kLabelScale) + kPad;
  for (int c = 0; c < grid.columns; ++c) {
    const auto& label = column_labels[static_cast<std::size_t>(c)];
    draw_label(grid.image, grid.left + c * (cell + grid.gap) + (cell - label_width(label, kLabelScale)) / 2, labels_y, label,
               kLabelScale, kInk);
  }
  for (int r = 0; r < grid.rows; ++r)
    draw_label(grid.image, kPad, grid.top + r * (cell + grid.gap) + (cell - label_height(kLabelScale)) / 2,
               row_labels[static_cast<std::size_t>(r)], kLabelScale, kInk);

  for (std::size_t e = 0; e < gallery.evaluations.size(); ++e) {
    const Image sheet = read_probe_sheet(gallery, e);
    if (training) {
      for (int r = 0; r < grid.rows; ++r)
        data::paste(grid.image,
                    data::enlarged(probe_tile(gallery, sheet, probes[static_cast<std::size_t>(r)], last, options.kind), grid.scale),
                    grid.left + static_cast<int>(e) * (cell + grid.gap), grid.top + r * (cell + grid.gap));
    } else {
      for (int c = 0; c < grid.columns; ++c)
        data::paste(grid.image, data::enlarged(probe_tile(gallery, sheet, probe, static_cast<std::size_t>(c), options.kind), grid.scale),
                    grid.left + c * (cell + grid.gap), grid.top + static_cast<int>(e) * (cell + grid.gap));
    }
  }
  return grid;
}

} // namespace t2i::train
