// The nearest-training-image index (t2i/neighbours.h).
//
// One safetensors file per measure beside the prepared dataset's image cache,
// "neighbours-inception.safetensors" or "neighbours-pixels.safetensors" (format
// "neighbour index" 1.0):
//   keys           int64 [N]        each training image's pixel content hash (fnv1a), split order
//   features       float32 [N, 2048] the Inception pool3 features (Inception only; pixels are
//                                   read from the memory-mapped cache itself)
//   nearest        int64 [N]        each image's nearest other training image (complete only)
//   nearest_value  float64 [N]      its similarity or distance (complete only)
//   metadata: format, format_version, written_by, measure, inception_weights_hash,
//             manifest_hash, cache_source_hash, image_size, complete ("true" | "false")
// A cancelled build writes the rows it has with complete = "false": queries refuse it, the next
// build resumes from its features.
//
// Search is exact brute force in two passes: every column is scored with one matrix product per
// block (cosine of the normalised features, or ‖x‖² − 2 q·x on the raw 0–255 pixel values, which
// bf16 holds exactly), the best k + kMargin candidates are kept, and those are scored again in
// float64 from the original values, which give the ranking and the reported values.
#include "t2i/neighbours.h"

#include "data/prepared_dataset.h"
#include "eval/fid_evaluator.h"
#include "io/atomic_file.h"
#include "io/format_version.h"
#include "io/hash.h"
#include "io/tensor_file.h"
#include "t2i/log.h"
#include "t2i/runtime.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <numeric>
#include <unordered_map>

namespace t2i::evaluate {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kIndexFormat = "t2i-neighbour-index";
constexpr std::int64_t kMargin = 16;       // candidates beyond k re-scored exactly
constexpr std::int64_t kQueryBlock = 1024;  // queries scored together
constexpr std::int64_t kColumnBlock = 2048;
constexpr std::int64_t kFeatureChunk = 256;  // Inception features computed between cancel checks

const io::JsonFormat& index_format() {
  static const io::JsonFormat format{"neighbour index", {1, 0}, {}};
  return format;
}

std::uint64_t pixel_key(const data::ImageCache& cache, std::size_t slot) {
  return io::Hash64().bytes(cache.pixels(slot), cache.bytes_per_image()).value();
}

// The rows the search compares: the training images as vectors.
struct Rows {
  NeighbourMeasure measure = NeighbourMeasure::PixelL2;
  torch::Tensor features;                     // Inception: [N, 2048] float32, raw
  const data::ImageCache* cache = nullptr;    // pixels: the training images' slots in it
  std::vector<std::size_t> slots;
  torch::Tensor squared_norms;                // pixels: ‖x‖² of every row, exact in int64

  // Pixels: measures squared_norms once, rather than for every block of queries (a 20k-image
  // build spent half its time doing so).
  void measure_norms() {
    if (measure != NeighbourMeasure::PixelL2) return;
    const std::int64_t n = count();
    squared_norms = torch::empty({n}, torch::kInt64);
    std::vector<std::int64_t> ids;
    for (std::int64_t r0 = 0; r0 < n; r0 += kColumnBlock) {
      const std::int64_t r1 = std::min(n, r0 + kColumnBlock);
      ids.resize(static_cast<std::size_t>(r1 - r0));
      std::iota(ids.begin(), ids.end(), r0);
      const torch::Tensor block = raw(ids).to(torch::kInt32);
      squared_norms.slice(0, r0, r1).copy_(block.mul(block).sum(1, false, torch::kInt64));
    }
  }

  std::int64_t count() const {
    return measure == NeighbourMeasure::InceptionCosine ? features.size(0) : static_cast<std::int64_t>(slots.size());
  }
  // Rows `ids` as stored: float32 features, or uint8 HWC pixels.
  torch::Tensor raw(const std::vector<std::int64_t>& ids) const {
    if (measure == NeighbourMeasure::InceptionCosine) return features.index_select(0, torch::tensor(ids, torch::kInt64));
    const auto bytes = static_cast<std::int64_t>(cache->bytes_per_image());
    torch::Tensor out = torch::empty({static_cast<std::int64_t>(ids.size()), bytes}, torch::kUInt8);
    for (std::size_t i = 0; i < ids.size(); ++i)
      std::memcpy(out[static_cast<std::int64_t>(i)].data_ptr(), cache->pixels(slots[static_cast<std::size_t>(ids[i])]),
                  cache->bytes_per_image());
    return out;
  }
};

// Rows as the scoring pass multiplies them: unit vectors (cosine) or the 0–255 values (ℓ2),
// which bf16 holds exactly.
torch::Tensor scoring(NeighbourMeasure measure, const torch::Tensor& rows, torch::ScalarType dtype) {
  if (measure == NeighbourMeasure::InceptionCosine)
    return torch::nn::functional::normalize(rows.to(torch::kFloat32), torch::nn::functional::NormalizeFuncOptions().dim(1));
  return rows.to(dtype);
}

// Query rows as exact_values takes them: float64 features, or int32 pixels.
torch::Tensor exact_input(NeighbourMeasure measure, const torch::Tensor& rows) {
  return rows.to(measure == NeighbourMeasure::InceptionCosine ? torch::kFloat64 : torch::kInt32);
}

// The value of `measure` between rows x[i] (as exact_input gives them) and b[i] (as stored), in
// float64. Pixel differences are summed as integers: exact, and half the memory traffic of float64.
torch::Tensor exact_values(NeighbourMeasure measure, const torch::Tensor& x, const torch::Tensor& b) {
  if (measure == NeighbourMeasure::InceptionCosine) {
    const torch::Tensor y = b.to(torch::kFloat64);
    return (x * y).sum(1) / (x.norm(2, 1) * y.norm(2, 1)).clamp_min(std::numeric_limits<double>::min());
  }
  // RMS difference of the pixels in [0, 1]: ‖a − b‖₂ / (255 √D).
  const torch::Tensor d = x - b.to(torch::kInt32);
  const torch::Tensor squared = d.mul(d).sum(1, false, torch::kInt64).to(torch::kFloat64);
  return (squared / static_cast<double>(x.size(1))).sqrt() / 255.0;
}

struct Match {
  std::int64_t index = 0;
  double value = 0;
};

// The k nearest of `columns` to each of `queries` (rows as Rows::raw gives them), exact, closest
// first, ties by index. `self[q]` (when given) is the column query q may not match: itself.
// Counts `stage` per block of queries from `done_before` of `total`; empty when cancelled.
std::vector<std::vector<Match>> search(const Rows& rows, const torch::Tensor& queries, const std::vector<std::int64_t>& columns,
                                       std::int64_t k, const std::vector<std::int64_t>& self, const job::Context& job = {},
                                       const std::string& stage = {}, std::int64_t done_before = 0, std::int64_t total = 0) {
  const NeighbourMeasure measure = rows.measure;
  const std::int64_t q_count = queries.size(0);
  std::vector<std::vector<Match>> result(static_cast<std::size_t>(q_count));
  if (columns.empty() || k <= 0) return result;
  const bool cosine = measure == NeighbourMeasure::InceptionCosine;
  static const bool native_bf16 = runtime::report().cpu_bf16;
  const torch::ScalarType dtype = !cosine && native_bf16 ? torch::kBFloat16 : torch::kFloat32;
  const auto column_count = static_cast<std::int64_t>(columns.size());
  const std::int64_t keep = std::min<std::int64_t>(k + kMargin, column_count);
  const torch::Tensor column_ids = torch::tensor(columns, torch::kInt64);
  const torch::Tensor squared_norms =  // ‖x‖² of every pixel column
      cosine ? torch::Tensor() : rows.squared_norms.index_select(0, column_ids).to(torch::kFloat32);
  for (std::int64_t q0 = 0; q0 < q_count; q0 += kQueryBlock) {
    if (job.cancelled()) return {};
    const std::int64_t q1 = std::min(q_count, q0 + kQueryBlock);
    const torch::Tensor q_rows = queries.slice(0, q0, q1);
    const torch::Tensor q_score = scoring(measure, q_rows, dtype);
    torch::Tensor best_scores, best_positions;  // [q, ≤ keep]: lower is closer; positions index `columns`
    for (std::int64_t c0 = 0; c0 < column_count; c0 += kColumnBlock) {
      const std::int64_t c1 = std::min(column_count, c0 + kColumnBlock);
      const torch::Tensor c_rows = rows.raw(std::vector<std::int64_t>(columns.begin() + c0, columns.begin() + c1));
      torch::Tensor score = torch::mm(q_score, scoring(measure, c_rows, dtype).t()).to(torch::kFloat32);
      // Lower is closer: −cos, or ‖x‖² − 2 q·x (‖q‖² is the same for every column).
      score = cosine ? -score : squared_norms.slice(0, c0, c1).unsqueeze(0) - 2 * score;
      if (!self.empty()) {
        const torch::Tensor own = torch::tensor(std::vector<std::int64_t>(self.begin() + q0, self.begin() + q1), torch::kInt64);
        score.masked_fill_(own.unsqueeze(1) == column_ids.slice(0, c0, c1).unsqueeze(0),
                           std::numeric_limits<float>::infinity());
      }
      const torch::Tensor positions = torch::arange(c0, c1, torch::kInt64).unsqueeze(0).expand({q1 - q0, c1 - c0});
      const torch::Tensor all_scores = best_scores.defined() ? torch::cat({best_scores, score}, 1) : score;
      const torch::Tensor all_positions = best_positions.defined() ? torch::cat({best_positions, positions}, 1) : positions;
      const auto top = all_scores.topk(std::min<std::int64_t>(keep, all_scores.size(1)), 1, /*largest=*/false);
      best_scores = std::get<0>(top);
      best_positions = all_positions.gather(1, std::get<1>(top));
    }
    // The exact pass, one candidate rank at a time over the whole block.
    const auto candidates = best_positions.accessor<std::int64_t, 2>();
    const auto scores = best_scores.accessor<float, 2>();
    torch::Tensor values = torch::empty({q1 - q0, candidates.size(1)}, torch::kFloat64);
    const torch::Tensor q_exact = exact_input(measure, q_rows);
    for (std::int64_t j = 0; j < candidates.size(1); ++j) {
      std::vector<std::int64_t> ids;
      for (std::int64_t q = 0; q < q1 - q0; ++q) ids.push_back(columns[static_cast<std::size_t>(candidates[q][j])]);
      values.select(1, j).copy_(exact_values(measure, q_exact, rows.raw(ids)));
    }
    const auto exact = values.accessor<double, 2>();
    for (std::int64_t q = 0; q < q1 - q0; ++q) {
      std::vector<Match> found;
      for (std::int64_t j = 0; j < candidates.size(1); ++j)
        if (std::isfinite(scores[q][j]))  // an infinite score is the query itself
          found.push_back({columns[static_cast<std::size_t>(candidates[q][j])], exact[q][j]});
      std::sort(found.begin(), found.end(), [measure](const Match& a, const Match& b) {
        if (a.value != b.value) return closer(measure, a.value, b.value);
        return a.index < b.index;
      });
      if (static_cast<std::int64_t>(found.size()) > k) found.resize(static_cast<std::size_t>(k));
      result[static_cast<std::size_t>(q0 + q)] = std::move(found);
    }
    if (!stage.empty()) job.count(stage, done_before + q1, total);
  }
  return result;
}

std::string index_file_name(NeighbourMeasure measure) {
  return measure == NeighbourMeasure::InceptionCosine ? "neighbours-inception.safetensors" : "neighbours-pixels.safetensors";
}

// What a stored index file holds, as far as a build can reuse it.
struct Stored {
  bool complete = false;
  std::vector<std::uint64_t> keys;
  torch::Tensor features;
  std::vector<std::int64_t> nearest;
  std::vector<double> nearest_value;
};

std::string meta(const io::Metadata& metadata, const std::string& key) {
  const auto found = metadata.find(key);
  return found == metadata.end() ? std::string() : found->second;
}

// Reads `path` when it is an index of `measure` made with `weights_hash`; `why` says why not.
std::optional<Stored> read_stored(const std::string& path, NeighbourMeasure measure, const std::string& weights_hash,
                                  std::string& why) {
  std::error_code error;
  if (!fs::exists(path, error)) return std::nullopt;
  const io::Metadata metadata = io::load_safetensors_metadata(path);
  if (meta(metadata, "format") != kIndexFormat) throw io::TensorFileError(path, "not a neighbour index");
  nlohmann::json fields = nlohmann::json::object();
  for (const char* key : {"format_version", "written_by"})
    if (const auto found = metadata.find(key); found != metadata.end()) fields[key] = found->second;
  io::upgrade_document(index_format(), fields, path);
  if (meta(metadata, "measure") != to_string(measure)) {
    why = "made for " + meta(metadata, "measure");
    return std::nullopt;
  }
  if (meta(metadata, "inception_weights_hash") != weights_hash) {
    why = "made with other Inception weights";
    return std::nullopt;
  }
  const io::TensorMap tensors = io::load_tensors(path);
  Stored stored;
  stored.complete = meta(metadata, "complete") == "true";
  const torch::Tensor keys = tensors.count("keys") ? tensors.at("keys").contiguous() : torch::empty({0}, torch::kInt64);
  if (keys.dim() != 1 || keys.scalar_type() != torch::kInt64) throw io::TensorFileError(path, "tensor 'keys' is not an int64 vector");
  const std::int64_t n = keys.size(0);
  const std::int64_t* key = keys.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i) stored.keys.push_back(static_cast<std::uint64_t>(key[i]));
  if (measure == NeighbourMeasure::InceptionCosine)
    stored.features = io::require(tensors, "features", {n, eval::kInceptionFeatures}, path).to(torch::kFloat32);
  if (stored.complete) {
    const torch::Tensor nearest = io::require(tensors, "nearest", {n}, path).to(torch::kInt64);
    const torch::Tensor value = io::require(tensors, "nearest_value", {n}, path).to(torch::kFloat64);
    stored.nearest.assign(nearest.data_ptr<std::int64_t>(), nearest.data_ptr<std::int64_t>() + n);
    stored.nearest_value.assign(value.data_ptr<double>(), value.data_ptr<double>() + n);
  }
  return stored;
}

struct Dataset {
  std::shared_ptr<const data::PreparedDataset> prepared;
  std::vector<std::size_t> slots;  // the training split's, in order
};

Dataset open_dataset(const std::string& prepared_dir) {
  Dataset d;
  d.prepared = data::PreparedDataset::open(prepared_dir);
  for (const auto& image : d.prepared->images(data::Split::Train)) d.slots.push_back(image.slot);
  return d;
}

io::Metadata index_metadata(NeighbourMeasure measure, const std::string& weights_hash, const data::PreparedDataset& dataset,
                            bool complete) {
  return {{"format", kIndexFormat},
          {"format_version", index_format().current.text()},
          {"written_by", io::writer_name()},
          {"measure", to_string(measure)},
          {"inception_weights_hash", weights_hash},
          {"manifest_hash", dataset.manifest_hash()},
          {"cache_source_hash", io::hex64(dataset.cache().source_hash())},
          {"image_size", std::to_string(dataset.image_size())},
          {"complete", complete ? "true" : "false"}};
}

torch::Tensor key_tensor(const std::vector<std::uint64_t>& keys) {
  torch::Tensor t = torch::empty({static_cast<std::int64_t>(keys.size())}, torch::kInt64);
  std::int64_t* out = t.data_ptr<std::int64_t>();
  for (std::size_t i = 0; i < keys.size(); ++i) out[i] = static_cast<std::int64_t>(keys[i]);
  return t;
}

torch::Tensor image_tensor(const Image& image) {
  return torch::from_blob(const_cast<std::uint8_t*>(image.rgb.data()), {image.height, image.width, 3}, torch::kUInt8)
      .clone();
}

} // namespace

std::string to_string(NeighbourMeasure measure) {
  return measure == NeighbourMeasure::InceptionCosine ? "inception-cosine" : "pixel-l2";
}

NeighbourMeasure parse_neighbour_measure(const std::string& name) {
  for (const NeighbourMeasure m : {NeighbourMeasure::InceptionCosine, NeighbourMeasure::PixelL2})
    if (to_string(m) == name) return m;
  throw std::runtime_error("unknown neighbour measure \"" + name + "\" (expected inception-cosine or pixel-l2)");
}

std::string describe(NeighbourMeasure measure) {
  return measure == NeighbourMeasure::InceptionCosine ? "cosine similarity (FID Inception features)"
                                                      : "pixel ℓ2 distance (RMS, 0–1)";
}

bool closer(NeighbourMeasure measure, double a, double b) {
  return measure == NeighbourMeasure::InceptionCosine ? a > b : a < b;
}

std::string neighbour_index_path(const std::string& prepared_dir, NeighbourMeasure measure) {
  return (fs::path(prepared_dir) / index_file_name(measure)).string();
}

NeighbourBuildReport build_neighbour_index(const std::string& prepared_dir, const NeighbourOptions& options,
                                           const job::Context& job) {
  const auto started = Clock::now();
  const Dataset dataset = open_dataset(prepared_dir);
  const data::ImageCache& cache = dataset.prepared->cache();
  const auto n = static_cast<std::int64_t>(dataset.slots.size());
  if (n == 0) throw job::Error(prepared_dir, "the training split has no images to index");

  NeighbourBuildReport report;
  std::string note;
  const std::unique_ptr<eval::FidEvaluator> evaluator =
      eval::open_fid_evaluator(options.inception_weights, options.device, note);
  report.measure = evaluator ? NeighbourMeasure::InceptionCosine : NeighbourMeasure::PixelL2;
  report.measure_note = evaluator ? std::string() : "pixel ℓ2 (" + note + ")";
  report.path = neighbour_index_path(prepared_dir, report.measure);
  report.images = n;
  const std::string weights_hash = evaluator ? evaluator->weights_hash() : std::string();
  const bool cosine = report.measure == NeighbourMeasure::InceptionCosine;

  std::vector<std::uint64_t> keys;
  keys.reserve(static_cast<std::size_t>(n));
  for (const std::size_t slot : dataset.slots) keys.push_back(pixel_key(cache, slot));

  std::string why;
  std::optional<Stored> stored;
  try {
    stored = read_stored(report.path, report.measure, weights_hash, why);
  } catch (const std::exception& e) {
    why = e.what();
  }
  if (!why.empty()) log::core()->info("Building the neighbour index anew: {}: {}", report.path, why);

  // Current image i ↔ stored row, one to one, in order among equal keys (duplicate images).
  std::vector<std::int64_t> stored_row(static_cast<std::size_t>(n), -1);
  std::vector<std::int64_t> current_of;  // stored row → current image, −1 when gone
  if (stored) {
    current_of.assign(stored->keys.size(), -1);
    std::unordered_map<std::uint64_t, std::vector<std::int64_t>> rows_of;
    for (std::int64_t r = static_cast<std::int64_t>(stored->keys.size()) - 1; r >= 0; --r)
      rows_of[stored->keys[static_cast<std::size_t>(r)]].push_back(r);
    for (std::int64_t i = 0; i < n; ++i) {
      auto found = rows_of.find(keys[static_cast<std::size_t>(i)]);
      if (found == rows_of.end() || found->second.empty()) continue;
      stored_row[static_cast<std::size_t>(i)] = found->second.back();
      current_of[static_cast<std::size_t>(found->second.back())] = i;
      found->second.pop_back();
    }
  }

  Rows rows;
  rows.measure = report.measure;
  rows.cache = &cache;
  rows.slots = dataset.slots;
  const auto save = [&](bool complete, const std::vector<std::int64_t>& have, const std::vector<Match>& nearest) {
    io::TensorMap tensors;
    std::vector<std::uint64_t> saved_keys;
    for (const std::int64_t i : have) saved_keys.push_back(keys[static_cast<std::size_t>(i)]);
    tensors["keys"] = key_tensor(saved_keys);
    if (cosine) tensors["features"] = rows.features.index_select(0, torch::tensor(have, torch::kInt64)).contiguous();
    if (complete) {
      torch::Tensor index = torch::empty({n}, torch::kInt64), value = torch::empty({n}, torch::kFloat64);
      for (std::int64_t i = 0; i < n; ++i) {
        index.data_ptr<std::int64_t>()[i] = nearest[static_cast<std::size_t>(i)].index;
        value.data_ptr<double>()[i] = nearest[static_cast<std::size_t>(i)].value;
      }
      tensors["nearest"] = index;
      tensors["nearest_value"] = value;
    }
    io::save_safetensors(report.path, tensors, index_metadata(report.measure, weights_hash, *dataset.prepared, complete));
  };

  // Features: the stored ones by key, the others computed chunk by chunk.
  std::vector<std::int64_t> have, missing;
  for (std::int64_t i = 0; i < n; ++i) (stored_row[static_cast<std::size_t>(i)] >= 0 ? have : missing).push_back(i);
  report.reused = static_cast<std::int64_t>(have.size());
  if (cosine) {
    rows.features = torch::zeros({n, eval::kInceptionFeatures}, torch::kFloat32);
    if (!have.empty()) {
      std::vector<std::int64_t> from;
      for (const std::int64_t i : have) from.push_back(stored_row[static_cast<std::size_t>(i)]);
      rows.features.index_copy_(0, torch::tensor(have, torch::kInt64),
                                stored->features.index_select(0, torch::tensor(from, torch::kInt64)));
    }
    const std::int64_t size = cache.image_size();
    for (std::size_t first = 0; first < missing.size(); first += kFeatureChunk) {
      if (job.cancelled()) {
        std::sort(have.begin(), have.end());
        save(false, have, {});
        report.cancelled = true;
        report.seconds = std::chrono::duration<double>(Clock::now() - started).count();
        return report;
      }
      const std::size_t last = std::min(missing.size(), first + kFeatureChunk);
      torch::Tensor batch = torch::empty({static_cast<std::int64_t>(last - first), size, size, 3}, torch::kUInt8);
      for (std::size_t j = first; j < last; ++j)
        std::memcpy(batch[static_cast<std::int64_t>(j - first)].data_ptr(),
                    cache.pixels(dataset.slots[static_cast<std::size_t>(missing[j])]), cache.bytes_per_image());
      const torch::Tensor features = evaluator->features(batch.permute({0, 3, 1, 2}).contiguous());
      const std::vector<std::int64_t> done(missing.begin() + static_cast<std::ptrdiff_t>(first),
                                           missing.begin() + static_cast<std::ptrdiff_t>(last));
      rows.features.index_copy_(0, torch::tensor(done, torch::kInt64), features);
      have.insert(have.end(), done.begin(), done.end());
      report.computed += static_cast<std::int64_t>(last - first);
      job.count("neighbour features", report.computed, static_cast<std::int64_t>(missing.size()));
    }
  } else {
    report.computed = static_cast<std::int64_t>(missing.size());  // the pixels are the features
  }
  std::sort(have.begin(), have.end());

  // Train-to-train nearest neighbours: found anew for new images and for those whose stored
  // neighbour is gone; the others keep theirs unless a new image is closer.
  std::vector<Match> nearest(static_cast<std::size_t>(n), Match{-1, 0});
  std::vector<std::int64_t> full, partial;
  std::vector<std::int64_t> added = missing;
  const bool had_baseline = stored && stored->complete;
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t r = stored_row[static_cast<std::size_t>(i)];
    const std::int64_t old = had_baseline && r >= 0 ? stored->nearest[static_cast<std::size_t>(r)] : -1;
    const std::int64_t j = old >= 0 && old < static_cast<std::int64_t>(current_of.size()) ? current_of[static_cast<std::size_t>(old)] : -1;
    if (j < 0) {
      full.push_back(i);
    } else {
      nearest[static_cast<std::size_t>(i)] = {j, stored->nearest_value[static_cast<std::size_t>(r)]};
      partial.push_back(i);
    }
  }
  if (!had_baseline) added.clear();
  report.baseline_reused = full.empty() && added.empty();
  const std::int64_t total = static_cast<std::int64_t>(full.size() + (added.empty() ? 0 : partial.size()));
  if (total > 0) rows.measure_norms();  // only a search needs them: nothing changed, nothing measured
  std::vector<std::int64_t> everyone(static_cast<std::size_t>(n));
  std::iota(everyone.begin(), everyone.end(), 0);
  const auto run = [&](const std::vector<std::int64_t>& queries, const std::vector<std::int64_t>& columns, std::int64_t done) {
    std::vector<std::vector<Match>> found;
    for (std::size_t first = 0; first < queries.size(); first += kQueryBlock) {
      const std::size_t last = std::min(queries.size(), first + kQueryBlock);
      const std::vector<std::int64_t> block(queries.begin() + static_cast<std::ptrdiff_t>(first),
                                            queries.begin() + static_cast<std::ptrdiff_t>(last));
      auto part = search(rows, rows.raw(block), columns, 1, block, job, "train-to-train neighbours",
                         done + static_cast<std::int64_t>(first), total);
      if (part.empty() && !block.empty()) return false;
      for (std::size_t q = 0; q < block.size(); ++q) {
        if (part[q].empty()) continue;
        Match& mine = nearest[static_cast<std::size_t>(block[q])];
        const Match& candidate = part[q].front();
        const bool better = mine.index < 0 || closer(report.measure, candidate.value, mine.value) ||
                            (candidate.value == mine.value && candidate.index < mine.index);
        if (better) mine = candidate;
      }
    }
    return true;
  };
  const bool done = run(full, everyone, 0) &&
                    (added.empty() || run(partial, added, static_cast<std::int64_t>(full.size())));
  if (!done) {
    save(false, have, {});
    report.cancelled = true;
  } else {
    save(true, everyone, nearest);
  }
  report.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return report;
}

struct NeighbourIndex::Impl {
  Dataset dataset;
  Rows rows;
  std::string path;
  std::string note;
  std::unique_ptr<eval::FidEvaluator> evaluator;
  std::vector<double> train_nearest;
  std::vector<std::int64_t> train_nearest_index;
  std::vector<std::int64_t> everyone;
};

NeighbourIndex::NeighbourIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NeighbourIndex::~NeighbourIndex() = default;
NeighbourMeasure NeighbourIndex::measure() const { return impl_->rows.measure; }
const std::string& NeighbourIndex::measure_note() const { return impl_->note; }
const std::string& NeighbourIndex::path() const { return impl_->path; }
std::int64_t NeighbourIndex::size() const { return impl_->rows.count(); }
const std::vector<double>& NeighbourIndex::train_nearest() const { return impl_->train_nearest; }
const std::vector<std::int64_t>& NeighbourIndex::train_nearest_index() const { return impl_->train_nearest_index; }

Image NeighbourIndex::training_image(std::int64_t index) const {
  if (index < 0 || index >= size()) throw std::out_of_range("neighbours: no training image " + std::to_string(index));
  const data::ImageCache& cache = impl_->dataset.prepared->cache();
  Image image(cache.image_size(), cache.image_size());
  std::memcpy(image.rgb.data(), cache.pixels(impl_->dataset.slots[static_cast<std::size_t>(index)]), image.rgb.size());
  return image;
}

std::vector<std::vector<Neighbour>> NeighbourIndex::nearest(const std::vector<Image>& images, int k) const {
  if (images.empty()) return {};
  const Impl& d = *impl_;
  const data::ImageCache& cache = d.dataset.prepared->cache();
  const std::int64_t size = cache.image_size();
  std::vector<torch::Tensor> batch;
  for (const Image& image : images) {
    if (image.width <= 0 || image.height <= 0 || image.rgb.size() != static_cast<std::size_t>(image.width) * image.height * 3)
      throw std::invalid_argument("neighbours: an image without pixels");
    batch.push_back(image_tensor(image).permute({2, 0, 1}).unsqueeze(0));
  }
  if (measure() == NeighbourMeasure::InceptionCosine) {
    for (torch::Tensor& b : batch) b = d.evaluator->features(b);
  } else {
    for (torch::Tensor& b : batch) {
      if (b.size(2) != size || b.size(3) != size) {
        // Antialiased bilinear, as the cache's own resize (a model sampling at another size).
        b = torch::nn::functional::interpolate(b.to(torch::kFloat32), torch::nn::functional::InterpolateFuncOptions()
                                                                          .size(std::vector<std::int64_t>{size, size})
                                                                          .mode(torch::kBilinear)
                                                                          .align_corners(false)
                                                                          .antialias(true))
                .round()
                .clamp(0, 255)
                .to(torch::kUInt8);
      }
      b = b.permute({0, 2, 3, 1}).reshape({1, -1});  // HWC, as the cache stores pixels
    }
  }
  const auto found = search(d.rows, torch::cat(batch), d.everyone, k, {});
  const auto& train = d.dataset.prepared->images(data::Split::Train);
  const auto& captions = d.dataset.prepared->captions();
  std::vector<std::vector<Neighbour>> result;
  for (const auto& matches : found) {
    std::vector<Neighbour>& row = result.emplace_back();
    for (const Match& m : matches) {
      const auto& image = train[static_cast<std::size_t>(m.index)];
      row.push_back({m.index, image.file_name, image.captions.empty() ? std::string() : captions[image.captions.front()], m.value});
    }
  }
  return result;
}

std::shared_ptr<const NeighbourIndex> open_neighbour_index(const std::string& prepared_dir, const NeighbourOptions& options) {
  auto impl = std::make_unique<NeighbourIndex::Impl>();
  impl->dataset = open_dataset(prepared_dir);
  std::string note;
  impl->evaluator = eval::open_fid_evaluator(options.inception_weights, options.device, note);
  impl->rows.measure = impl->evaluator ? NeighbourMeasure::InceptionCosine : NeighbourMeasure::PixelL2;
  impl->note = impl->evaluator ? std::string() : "pixel ℓ2 (" + note + ")";
  impl->path = neighbour_index_path(prepared_dir, impl->rows.measure);
  const std::string& path = impl->path;
  std::error_code error;
  if (!fs::exists(path, error))
    throw job::Error(path, "no neighbour index: build it first (t2i data neighbours)");
  const io::Metadata metadata = io::load_safetensors_metadata(path);
  const data::PreparedDataset& dataset = *impl->dataset.prepared;
  const std::string weights_hash = impl->evaluator ? impl->evaluator->weights_hash() : std::string();
  std::string why;
  const std::optional<Stored> stored = read_stored(path, impl->rows.measure, weights_hash, why);
  if (!stored) throw job::Error(path, why + ": build it again");
  if (!stored->complete) throw job::Error(path, "incomplete (its build was cancelled): build it again to finish it");
  if (meta(metadata, "manifest_hash") != dataset.manifest_hash() ||
      meta(metadata, "cache_source_hash") != io::hex64(dataset.cache().source_hash()) ||
      stored->keys.size() != impl->dataset.slots.size())
    throw job::Error(path, "made for other images than " + prepared_dir + " holds now: build it again");
  impl->rows.cache = &dataset.cache();
  impl->rows.slots = impl->dataset.slots;
  impl->rows.features = stored->features;
  impl->rows.measure_norms();
  impl->train_nearest_index = stored->nearest;
  impl->train_nearest = stored->nearest_value;
  if (impl->train_nearest.size() < 2) {  // one image has no other
    impl->train_nearest.clear();
    impl->train_nearest_index.clear();
  }
  impl->everyone.resize(stored->keys.size());
  std::iota(impl->everyone.begin(), impl->everyone.end(), 0);
  return std::shared_ptr<const NeighbourIndex>(new NeighbourIndex(std::move(impl)));
}

std::shared_ptr<const NeighbourIndex> open_or_build_neighbour_index(const std::string& prepared_dir,
                                                                    const NeighbourOptions& options, const job::Context& job) {
  try {
    return open_neighbour_index(prepared_dir, options);
  } catch (const job::Error& why) {
    if (why.file() != neighbour_index_path(prepared_dir, NeighbourMeasure::InceptionCosine) &&
        why.file() != neighbour_index_path(prepared_dir, NeighbourMeasure::PixelL2))
      throw;  // the dataset itself, not its index
    std::error_code error;
    if (fs::exists(why.file(), error))
      log::core()->info("Building the nearest-training-image index again: {}", why.what());
    else
      log::core()->info("Building the nearest-training-image index of {}, the first search of this dataset", prepared_dir);
  }
  if (build_neighbour_index(prepared_dir, options, job).cancelled) return nullptr;
  return open_neighbour_index(prepared_dir, options);
}

void write_neighbours_json(const std::string& path, const NeighbourIndex& index, const std::string& data,
                           const std::vector<std::string>& images, const std::vector<std::vector<Neighbour>>& found) {
  nlohmann::json document{{"measure", to_string(index.measure())},
                          {"measure_description", describe(index.measure())},
                          {"measure_note", index.measure_note()},
                          {"data", data},
                          {"images", nlohmann::json::array()}};
  for (std::size_t i = 0; i < images.size() && i < found.size(); ++i) {
    nlohmann::json neighbours = nlohmann::json::array();
    for (const Neighbour& n : found[i])
      neighbours.push_back({{"index", n.index}, {"file_name", n.file_name}, {"caption", n.caption}, {"value", n.value}});
    document["images"].push_back({{"file", images[i]}, {"neighbours", neighbours}});
  }
  io::write_file_atomically(path, document.dump(2) + "\n");
}

double quantile(std::vector<double> values, double q) {
  if (values.empty()) throw std::invalid_argument("quantile of no values");
  if (!(q >= 0 && q <= 1)) throw std::invalid_argument("quantile: q must lie in [0, 1]");
  std::sort(values.begin(), values.end());
  const double h = q * static_cast<double>(values.size() - 1);
  const auto j = static_cast<std::size_t>(std::floor(h));
  if (j + 1 >= values.size()) return values.back();
  return values[j] + (h - static_cast<double>(j)) * (values[j + 1] - values[j]);
}

double memorisation_threshold(NeighbourMeasure measure, const std::vector<double>& train_nearest, double percentile) {
  return quantile(train_nearest, measure == NeighbourMeasure::InceptionCosine ? percentile : 1.0 - percentile);
}

Histogram histogram(const std::vector<double>& values, int bins) {
  Histogram h;
  if (bins < 1) throw std::invalid_argument("histogram: at least one bin");
  h.counts.assign(static_cast<std::size_t>(bins), 0);
  if (values.empty()) return h;
  h.low = *std::min_element(values.begin(), values.end());
  h.high = *std::max_element(values.begin(), values.end());
  const double width = (h.high - h.low) / bins;
  for (const double v : values) {
    const auto bin = width > 0 ? static_cast<std::int64_t>((v - h.low) / width) : 0;
    ++h.counts[static_cast<std::size_t>(std::clamp<std::int64_t>(bin, 0, bins - 1))];
  }
  return h;
}

} // namespace t2i::evaluate
