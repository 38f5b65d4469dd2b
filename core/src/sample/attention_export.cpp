// Token maps as files (t2i/attention.h: write_attention_maps), for `t2i sample --attention-maps`.
#include "t2i/attention.h"

#include "data/image_transform.h"
#include "data/png_write.h"
#include "io/atomic_file.h"
#include "io/format_version.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <system_error>

namespace t2i::sample {
namespace {

const io::JsonFormat kIndexFormat{"attention maps index", {1, 0}, {}};
constexpr double kOverlayOpacity = 0.6;
constexpr int kMinimumSide = 256;  // a 32×32 or 64×64 map is too small to read in an image viewer

// A file name for a word: its ASCII letters, digits, '-' and '_' (others become '_'); a word
// met again gets "-2", "-3", …
std::string file_stem(const std::string& word, std::map<std::string, int>& seen) {
  std::string stem;
  for (const char c : word) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    stem += plain ? c : '_';
  }
  if (stem.empty()) stem = "_";
  const int count = ++seen[stem];
  return count == 1 ? stem : stem + "-" + std::to_string(count);
}

nlohmann::json shares_json(const AttentionShares& shares) {
  return {{"words", shares.words}, {"end_token", shares.end_token}, {"null_key", shares.null_key}, {"padding", shares.padding}};
}

std::string step_folder(int step) {
  char name[16];
  std::snprintf(name, sizeof name, "step_%03d", step);
  return name;
}

} // namespace

std::vector<std::string> write_attention_maps(const std::string& folder, const AttentionMaps& maps, int image,
                                              const Image& base, bool per_step) {
  namespace fs = std::filesystem;
  std::error_code error;
  fs::create_directories(folder, error);
  if (error) throw std::runtime_error(folder + ": cannot create the folder: " + error.message());

  const auto words = maps.words(image);
  AttentionSelection all;
  all.image = image;
  // Every word's map once: over all steps, then (with per_step) at each step.
  const auto words_at = [&](const AttentionSelection& selection) {
    std::vector<Heatmap> out;
    for (const auto& word : words) out.push_back(maps.map(selection, word.pieces));
    return out;
  };
  const std::vector<Heatmap> aggregate = words_at(all);
  std::vector<std::vector<Heatmap>> by_step;
  for (int step = 1; per_step && step <= maps.steps(); ++step) {
    AttentionSelection one = all;
    one.step = step;
    by_step.push_back(words_at(one));
  }
  // One colour scale for every file, so that a weakly attended word looks weak (per-map scales
  // make every word's map look alike).
  float legend_max = 0;
  for (const Heatmap& map : aggregate) legend_max = std::max(legend_max, map.max);
  for (const auto& step : by_step)
    for (const Heatmap& map : step) legend_max = std::max(legend_max, map.max);

  const Image background = data::enlarged(base, std::max(1, kMinimumSide / std::max(1, base.width)));
  std::vector<std::string> written;
  const auto write_map = [&](const fs::path& path, const Heatmap& map) {
    data::write_png(path.string(), heat_overlay(background, map, kOverlayOpacity, legend_max), {});
    written.push_back(path.string());
  };

  std::map<std::string, int> seen;
  std::vector<std::string> stems;
  for (const auto& word : words) stems.push_back(file_stem(word.text, seen));

  nlohmann::json index;
  io::stamp_document(kIndexFormat, index);
  index["image"] = image;
  index["steps"] = maps.steps();
  index["image_size"] = maps.image_size();
  index["resolutions"] = maps.resolutions();
  for (const auto& layer : maps.layers()) index["layers"].push_back({{"side", layer.side}, {"heads", layer.heads}});
  index["pieces"] = maps.pieces(image);
  index["unconditional_recorded"] = maps.has_unconditional();
  index["normalisation"] = "global: each pixel's share of attention";
  index["legend_max"] = legend_max;
  for (std::size_t w = 0; w < words.size(); ++w) {
    write_map(fs::path(folder) / (stems[w] + ".png"), aggregate[w]);
    const auto& values = aggregate[w].values;
    index["words"].push_back({{"text", words[w].text}, {"pieces", words[w].pieces}, {"file", stems[w] + ".png"},
                              {"min", *std::min_element(values.begin(), values.end())}, {"max", aggregate[w].max}});
  }
  index["shares"] = shares_json(maps.shares(all));
  for (int step = 1; step <= maps.steps(); ++step) {
    AttentionSelection one = all;
    one.step = step;
    nlohmann::json entry{{"step", step}, {"shares", shares_json(maps.shares(one))}};
    if (per_step) {
      const fs::path step_dir = fs::path(folder) / step_folder(step);
      fs::create_directories(step_dir, error);
      if (error) throw std::runtime_error(step_dir.string() + ": cannot create the folder: " + error.message());
      for (std::size_t w = 0; w < words.size(); ++w)
        write_map(step_dir / (stems[w] + ".png"), by_step[static_cast<std::size_t>(step - 1)][w]);
      entry["folder"] = step_folder(step);
    }
    index["per_step"].push_back(entry);
  }
  const std::string index_path = (fs::path(folder) / "index.json").string();
  io::write_file_atomically(index_path, index.dump(2) + "\n");
  written.push_back(index_path);
  return written;
}

} // namespace t2i::sample
