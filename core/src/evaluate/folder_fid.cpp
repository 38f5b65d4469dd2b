// The FID facade (t2i/evaluate.h): folders of images or saved statistics, compared or summarised.
#include "t2i/evaluate.h"

#include "data/image_decode.h"
#include "data/parallel_for.h"
#include "eval/fid_evaluator.h"
#include "io/hash.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iomanip>
#include <sstream>

namespace t2i::evaluate {
namespace {

using namespace eval;  // the FID base area

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

/// The PNG and JPEG files directly inside `folder`, sorted by name.
std::vector<std::string> list_images(const std::string& folder) {
  std::error_code error;
  if (!fs::is_directory(folder, error)) throw std::runtime_error(folder + ": not a folder");
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (!entry.is_regular_file()) continue;
    std::string extension = entry.path().extension().string();
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (extension == ".png" || extension == ".jpg" || extension == ".jpeg") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  if (files.size() < 2) throw std::runtime_error(folder + ": FID needs at least 2 PNG or JPEG images, found " +
                                                 std::to_string(files.size()));
  return files;
}

/// Which images a folder holds: its path, and every file's name and size.
std::string folder_identity(const std::string& folder, const std::vector<std::string>& files) {
  io::Hash64 hash(io::HashScheme::fnv1a_words);
  for (const std::string& file : files) {
    hash.text(fs::path(file).filename().string()).u64(static_cast<std::uint64_t>(fs::file_size(file)));
  }
  return "folder " + fs::weakly_canonical(folder).string() + ", " + std::to_string(files.size()) + " images, " +
         hash.hex();
}

/// Decodes files[begin, end) (in parallel) into [n, 3, 299, 299] floats in [0, 1] on `device`.
torch::Tensor decode_batch(const std::vector<std::string>& files, std::int64_t begin, std::int64_t end,
                           torch::Device device) {
  std::vector<torch::Tensor> decoded(static_cast<std::size_t>(end - begin));
  data::parallel_for(decoded.size(), 0, [&](std::size_t i) {
    const t2i::Image image = data::decode_image_file(files[static_cast<std::size_t>(begin) + i]);
    decoded[i] = torch::from_blob(const_cast<std::uint8_t*>(image.rgb.data()), {image.height, image.width, 3},
                                  torch::kUInt8)
                     .permute({2, 0, 1})
                     .unsqueeze(0)
                     .clone();
  });
  // Each image is resized on its own: a folder's images may all differ in size.
  std::vector<torch::Tensor> resized;
  resized.reserve(decoded.size());
  for (const torch::Tensor& image : decoded) resized.push_back(resize_to_input(image, device));
  return torch::cat(resized, 0);
}

FidEvaluator make_evaluator(const std::string& weights, const FolderOptions& options) {
  std::error_code error;
  if (weights.empty() || !fs::is_regular_file(weights, error)) throw std::runtime_error(fid_unavailable_reason(weights));
  return FidEvaluator(weights, options.device, options.batch_size);
}

/// A folder's statistics and features, computed now; `stage` names the side for progress reports.
ReferenceStats folder_statistics(const FidEvaluator& evaluator, const std::string& folder, const std::string& stage,
                                 const job::Context& job) {
  const std::vector<std::string> files = list_images(folder);
  const torch::Device device = evaluator.network().device();
  ImageSource source{static_cast<std::int64_t>(files.size()), [&](std::int64_t begin, std::int64_t end) {
                       return decode_batch(files, begin, end, device);
                     }};
  ReferenceStats r;
  r.features = evaluator.features(source, job, stage);
  r.statistics = compute_statistics(r.features);
  r.identity = folder_identity(folder, files);
  r.weights_hash = evaluator.weights_hash();
  r.path = folder;
  return r;
}

/// One side of a comparison: a folder's images, or a statistics file made with the same weights.
ReferenceStats side(const FidEvaluator& evaluator, const std::string& path, const std::string& stage,
                    const job::Context& job) {
  std::error_code error;
  if (fs::is_directory(path, error)) return folder_statistics(evaluator, path, stage, job);
  if (!fs::exists(path, error)) throw job::Error(path, "no such folder or statistics file");
  ReferenceStats stats = load_reference_stats(path);
  if (stats.weights_hash != evaluator.weights_hash())
    throw job::Error(path, "statistics made with other Inception weights (hash " + stats.weights_hash +
                             ", the weights given have " + evaluator.weights_hash() + "); FID between them is meaningless");
  if (stats.statistics.dims() != kInceptionFeatures)
    throw job::Error(path, "statistics of " + std::to_string(stats.statistics.dims()) +
                             "-d features, expected " + std::to_string(kInceptionFeatures));
  return stats;
}

nlohmann::json kid_json(const KidResult& kid) {
  return {{"mean", kid.mean}, {"std", kid.std}, {"subsets", kid.subsets}, {"subset_size", kid.subset_size}};
}

} // namespace

std::string fid_unavailable_reason(const std::string& weights_path) {
  std::string unavailable;
  open_fid_evaluator(weights_path, "cpu", unavailable);
  return unavailable;
}

FidReport compare(const std::string& weights, const std::string& a, const std::string& b, const FolderOptions& options,
                  const job::Context& job) {
  const FidEvaluator evaluator = make_evaluator(weights, options);
  FidReport report;
  report.a = a;
  report.b = b;
  report.weights_hash = evaluator.weights_hash();
  ReferenceStats sa, sb;
  const auto extract = Clock::now();
  try {
    sa = side(evaluator, a, "A", job);
    sb = side(evaluator, b, "B", job);
  } catch (const FidCancelled&) {
    report.cancelled = true;
    return report;
  }
  report.feature_seconds = seconds_since(extract);
  const auto distance = Clock::now();
  report.fid = fid(sa.statistics, sb.statistics);
  report.warning = small_sample_warning(report.fid, kInceptionFeatures);
  if (options.kid) {
    for (const ReferenceStats* s : {&sa, &sb})
      if (!s->features.defined())
        throw job::Error(s->path, "KID needs features, but this statistics file holds only μ and Σ");
    report.kid = kid(sa.features, sb.features, options.kid_options);
  }
  report.distance_seconds = seconds_since(distance);
  return report;
}

StatsReport save_folder_stats(const std::string& weights, const std::string& folder, const std::string& out,
                              const FolderOptions& options, const job::Context& job) {
  const auto start = Clock::now();
  const FidEvaluator evaluator = make_evaluator(weights, options);
  StatsReport report;
  report.folder = folder;
  report.weights_hash = evaluator.weights_hash();
  ReferenceStats stats;
  try {
    stats = folder_statistics(evaluator, folder, "images", job);
  } catch (const FidCancelled&) {
    report.cancelled = true;
    return report;
  }
  save_reference_stats(out, stats);
  report.path = out;
  report.count = stats.statistics.count;
  report.identity = stats.identity;
  report.seconds = seconds_since(start);
  return report;
}

std::string to_text(const FidReport& r) {
  std::ostringstream text;
  if (r.cancelled) return "cancelled\n";
  text << std::setprecision(6) << "FID:  " << r.fid.fid << "  (" << r.fid.count_a << " vs " << r.fid.count_b
       << " images)\n";
  if (r.kid) text << "KID:  " << r.kid->mean << " ± " << r.kid->std << "  (" << r.kid->subsets << " subsets of "
                  << r.kid->subset_size << ")\n";
  if (!r.warning.empty()) text << "note: " << r.warning << "\n";
  text << std::setprecision(3) << "time: " << r.feature_seconds << " s features, " << r.distance_seconds
       << " s distances\n";
  return text.str();
}

std::string to_json(const FidReport& r) {
  nlohmann::json j{{"a", r.a},
                   {"b", r.b},
                   {"cancelled", r.cancelled},
                   {"fid", r.fid.fid},
                   {"count_a", r.fid.count_a},
                   {"count_b", r.fid.count_b},
                   {"small_sample", r.fid.small_sample},
                   {"warning", r.warning},
                   {"inception_weights_hash", r.weights_hash},
                   {"feature_seconds", r.feature_seconds},
                   {"distance_seconds", r.distance_seconds}};
  j["kid"] = r.kid ? kid_json(*r.kid) : nlohmann::json(nullptr);
  return j.dump();
}

std::string to_json(const StatsReport& r) {
  return nlohmann::json{{"path", r.path},         {"folder", r.folder},
                        {"count", r.count},       {"identity", r.identity},
                        {"inception_weights_hash", r.weights_hash}, {"seconds", r.seconds},
                        {"cancelled", r.cancelled}}
      .dump();
}

} // namespace t2i::evaluate
