#include "data/dataset_report.h"

#include "data/image_decode.h"
#include "data/parallel_for.h"

#include "t2i/log.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <sstream>

namespace t2i::data {

namespace {

const char* const kDefaultTokenUnit = "whitespace words";

std::string fixed(double v, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, v);
  return buffer;
}

std::string percent(double fraction) { return fixed(100.0 * fraction, 0); }

void count_skip(SkipCounts& counts, SlotStatus status) {
  switch (status) {
    case SlotStatus::Missing: ++counts.missing; break;
    case SlotStatus::Empty: ++counts.empty; break;
    case SlotStatus::NotAnImage: ++counts.not_an_image; break;
    case SlotStatus::Corrupt: ++counts.corrupt; break;
    case SlotStatus::Pending:
    case SlotStatus::Ok: break;
  }
}

} // namespace

int count_words(const std::string& text) {
  int words = 0;
  bool in_word = false;
  for (const char c : text) {
    const bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

std::vector<CaptionSet> load_sources(const std::vector<Source>& sources) {
  if (sources.empty()) throw DataError("no caption file given");
  std::vector<CaptionSet> sets;
  sets.reserve(sources.size());
  for (const Source& source : sources) sets.push_back(load_captions(source.annotations, source.images_dir));
  return sets;
}

std::vector<ImageOutcome> captioned_images(const std::vector<CaptionSet>& sets) {
  std::vector<ImageOutcome> out;
  for (std::size_t s = 0; s < sets.size(); ++s)
    for (std::size_t i = 0; i < sets[s].images.size(); ++i)
      if (!sets[s].images[i].captions.empty()) out.push_back(ImageOutcome{s, i, SlotStatus::Pending});
  return out;
}

DatasetReport build_report(const std::vector<CaptionSet>& sets, const std::vector<ImageOutcome>& checked,
                           const SplitOptions& split, const SplitSizes& sizes, const TokenCounter& count_tokens,
                           const std::string& token_unit) {
  DatasetReport report;
  for (const CaptionSet& set : sets) {
    report.annotations.push_back(set.annotations);
    report.images_listed += set.images.size();
    report.captions_listed += set.captions.size();
    for (std::size_t i = 0; i < set.images.size(); ++i) {
      if (!set.images[i].captions.empty()) continue;
      ++report.skipped.no_caption;
      report.skipped_files.push_back(SkippedImage{set.image_path(i), "no caption"});
    }
  }

  std::vector<std::size_t> per_image;
  std::vector<int> tokens;
  for (const ImageOutcome& outcome : checked) {
    if (outcome.status == SlotStatus::Pending) continue;
    const CaptionSet& set = sets[outcome.source];
    ++report.images_checked;
    if (outcome.status != SlotStatus::Missing) ++report.images_found;
    if (outcome.status != SlotStatus::Ok) {
      count_skip(report.skipped, outcome.status);
      report.skipped_files.push_back(SkippedImage{set.image_path(outcome.image), to_string(outcome.status)});
      continue;
    }
    ++report.images_usable;
    const auto& captions = set.images[outcome.image].captions;
    per_image.push_back(captions.size());
    for (std::size_t c : captions)
      tokens.push_back(count_tokens ? count_tokens(set.captions[c]) : count_words(set.captions[c]));
  }

  report.captions_usable = tokens.size();
  if (!per_image.empty()) {
    const auto [lo, hi] = std::minmax_element(per_image.begin(), per_image.end());
    report.captions_per_image_min = *lo;
    report.captions_per_image_max = *hi;
    report.captions_per_image_mean = static_cast<double>(tokens.size()) / static_cast<double>(per_image.size());
  }
  report.token_unit = count_tokens && !token_unit.empty() ? token_unit : count_tokens ? "tokens" : kDefaultTokenUnit;
  if (!tokens.empty()) {
    std::sort(tokens.begin(), tokens.end());
    report.caption_tokens_min = tokens.front();
    report.caption_tokens_max = tokens.back();
    const std::size_t mid = tokens.size() / 2;
    report.caption_tokens_median = tokens.size() % 2 == 1 ? tokens[mid] : (tokens[mid - 1] + tokens[mid]) / 2.0;
  }
  report.split = split;
  report.split_train = sizes.train;
  report.split_val = sizes.val;
  report.split_test = sizes.test;
  return report;
}

DatasetReport inspect(const std::vector<Source>& sources, const InspectOptions& options, const job::Context& job) {
  validate(options.split);
  const std::vector<CaptionSet> sets = load_sources(sources);
  std::vector<ImageOutcome> checked = captioned_images(sets);

  // The smallest DCT scale still entropy-decodes every block, so truncation and damage are found
  // at a fraction of the full decoding cost.
  const DecodeOptions decode{1};
  const std::size_t chunk = 64;
  bool cancelled = false;
  for (std::size_t begin = 0; begin < checked.size() && !cancelled; begin += chunk) {
    const std::size_t n = std::min(chunk, checked.size() - begin);
    parallel_for(
        n, options.threads,
        [&](std::size_t i) {
          ImageOutcome& outcome = checked[begin + i];
          try {
            decode_image_file(sets[outcome.source].image_path(outcome.image), decode);
            outcome.status = SlotStatus::Ok;
          } catch (const ImageError& e) {
            outcome.status = slot_status(e.problem());
            log::core()->warn("skipping image: {}", e.what());
          }
        },
        job.cancel);
    cancelled = job.cancelled();
    job.count("checking images", static_cast<std::int64_t>(begin + n), static_cast<std::int64_t>(checked.size()));
  }

  // The split prepare would make: the usable images among the first N in subset order.
  std::vector<std::string> names;
  names.reserve(checked.size());
  for (const ImageOutcome& outcome : checked) names.push_back(sets[outcome.source].images[outcome.image].file_name);
  const std::vector<std::size_t> order = subset_order(names, options.split.seed);
  std::size_t usable = 0;
  for (std::size_t k = 0; k < std::min(order.size(), options.split.max_images); ++k)
    usable += checked[order[k]].status == SlotStatus::Ok ? 1 : 0;

  DatasetReport report = build_report(sets, checked, options.split, split_sizes(usable, options.split),
                                      options.count_tokens, options.token_unit);
  report.cancelled = cancelled;
  return report;
}

std::string to_text(const DatasetReport& r) {
  std::ostringstream out;
  out << "Dataset report\n";
  for (const std::string& file : r.annotations) out << "  caption file        " << file << "\n";
  out << "  images listed       " << r.images_listed << " (" << r.captions_listed << " captions)\n";
  out << "  images checked      " << r.images_checked << "\n";
  out << "  found / usable      " << r.images_found << " / " << r.images_usable << "\n";
  out << "  skipped             " << r.skipped.total() << " (missing " << r.skipped.missing << ", empty " << r.skipped.empty
      << ", not an image " << r.skipped.not_an_image << ", corrupt " << r.skipped.corrupt << ", no caption "
      << r.skipped.no_caption << ")\n";
  out << "  captions per image  min " << r.captions_per_image_min << ", mean " << fixed(r.captions_per_image_mean, 2)
      << ", max " << r.captions_per_image_max << " (" << r.captions_usable << " captions of usable images)\n";
  out << "  caption length      min " << r.caption_tokens_min << ", median " << fixed(r.caption_tokens_median, 1)
      << ", max " << r.caption_tokens_max << " " << r.token_unit << "\n";
  out << "  split " << percent(r.split.train) << "/" << percent(r.split.val) << "/" << percent(r.split.test)
      << "      train " << r.split_train << ", val " << r.split_val << ", test " << r.split_test << " (N "
      << r.split.max_images << ", seed " << r.split.seed << ")\n";
  if (r.cancelled) out << "  (cancelled: the counts cover only the images checked so far)\n";
  if (!r.skipped_files.empty()) {
    out << "  skipped files:\n";
    for (const SkippedImage& s : r.skipped_files) out << "    " << s.file << ": " << s.reason << "\n";
  }
  return out.str();
}

std::string to_json(const DatasetReport& r) {
  nlohmann::json skipped_files = nlohmann::json::array();
  for (const SkippedImage& s : r.skipped_files) skipped_files.push_back({{"file", s.file}, {"reason", s.reason}});
  const nlohmann::json json = {
      {"annotations", r.annotations},
      {"images_listed", r.images_listed},
      {"captions_listed", r.captions_listed},
      {"images_checked", r.images_checked},
      {"images_found", r.images_found},
      {"images_usable", r.images_usable},
      {"skipped",
       {{"total", r.skipped.total()},
        {"missing", r.skipped.missing},
        {"empty", r.skipped.empty},
        {"not_an_image", r.skipped.not_an_image},
        {"corrupt", r.skipped.corrupt},
        {"no_caption", r.skipped.no_caption}}},
      {"skipped_files", skipped_files},
      {"captions_usable", r.captions_usable},
      {"captions_per_image", {{"min", r.captions_per_image_min}, {"mean", r.captions_per_image_mean}, {"max", r.captions_per_image_max}}},
      {"caption_length", {{"unit", r.token_unit}, {"min", r.caption_tokens_min}, {"median", r.caption_tokens_median}, {"max", r.caption_tokens_max}}},
      {"split",
       {{"max_images", r.split.max_images},
        {"fractions", {r.split.train, r.split.val, r.split.test}},
        {"seed", r.split.seed},
        {"train", r.split_train},
        {"val", r.split_val},
        {"test", r.split_test}}},
      {"cancelled", r.cancelled}};
  return json.dump();
}

} // namespace t2i::data
