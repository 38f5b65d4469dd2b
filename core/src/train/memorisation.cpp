#include "train/memorisation.h"

#include "t2i/runs.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

namespace t2i::train {
namespace {

constexpr const char* kBaselineEvent = "memorisation_baseline";
constexpr const char* kPointEvent = "memorisation";

} // namespace

std::unique_ptr<MemorisationMeter> MemorisationMeter::start(RunFolder& folder, const std::string& prepared_dir,
                                                            const evaluate::NeighbourOptions& options, const job::Context& job) {
  std::shared_ptr<const evaluate::NeighbourIndex> index = evaluate::open_or_build_neighbour_index(prepared_dir, options, job);
  if (!index || index->train_nearest().empty()) return nullptr;
  const double threshold = evaluate::memorisation_threshold(index->measure(), index->train_nearest());
  const std::vector<nlohmann::json> events = read_metrics(folder.metrics_path());
  const bool stored = std::any_of(events.begin(), events.end(),
                                  [](const nlohmann::json& e) { return e.value("event", "") == kBaselineEvent; });
  if (!stored) {
    const evaluate::Histogram h = evaluate::histogram(index->train_nearest(), kMemorisationBins);
    folder.append_metrics({{"event", kBaselineEvent},
                           {"step", 0},
                           {"measure", evaluate::to_string(index->measure())},
                           {"measure_note", index->measure_note()},
                           {"percentile", evaluate::kMemorisationPercentile},
                           {"threshold", threshold},
                           {"images", index->size()},
                           {"histogram", {{"low", h.low}, {"high", h.high}, {"counts", h.counts}}}});
  }
  return std::unique_ptr<MemorisationMeter>(new MemorisationMeter(std::move(index), threshold));
}

MemorisationCurve::Point MemorisationMeter::record(RunFolder& folder, std::int64_t step, const std::vector<Image>& finals) const {
  const auto nearest = index_->nearest(finals, 1);
  MemorisationCurve::Point point;
  point.step = step;
  point.probes = static_cast<std::int64_t>(finals.size());
  std::vector<double> values;
  std::vector<std::int64_t> indices;
  for (const auto& found : nearest) {
    values.push_back(found.front().value);
    indices.push_back(found.front().index);
    if (evaluate::closer(index_->measure(), found.front().value, threshold_)) ++point.flagged;
    if (values.size() == 1 || evaluate::closer(index_->measure(), found.front().value, point.closest))
      point.closest = found.front().value;
  }
  point.share = point.probes > 0 ? static_cast<double>(point.flagged) / static_cast<double>(point.probes) : 0.0;
  folder.append_metrics({{"event", kPointEvent}, {"step", step}, {"share", point.share}, {"flagged", point.flagged},
                         {"probes", point.probes}, {"threshold", threshold_}, {"closest", point.closest},
                         {"nearest", values}, {"nearest_index", indices}});
  return point;
}

std::optional<MemorisationCurve> read_memorisation(const std::string& run_dir) {
  if (!is_run_folder(run_dir))
    throw std::runtime_error(run_dir + " is not a training run folder (no metrics.jsonl or config.json)");
  const std::string path = RunFolder(run_dir, /*create=*/false).metrics_path();
  std::optional<MemorisationCurve> curve;
  std::map<std::int64_t, MemorisationCurve::Point> points;  // a step evaluated again keeps its last
  for (const nlohmann::json& e : read_metrics(path)) try {
    const std::string kind = e.value("event", "");
    if (kind == kBaselineEvent) {
      curve.emplace();
      curve->measure = evaluate::parse_neighbour_measure(e.at("measure").get<std::string>());
      curve->measure_note = e.value("measure_note", "");
      curve->percentile = e.value("percentile", evaluate::kMemorisationPercentile);
      curve->threshold = e.at("threshold").get<double>();
      curve->images = e.value("images", std::int64_t{0});
      const nlohmann::json& h = e.at("histogram");
      curve->baseline.low = h.at("low").get<double>();
      curve->baseline.high = h.at("high").get<double>();
      curve->baseline.counts = h.at("counts").get<std::vector<std::int64_t>>();
    } else if (kind == kPointEvent) {
      MemorisationCurve::Point p;
      p.step = e.at("step").get<std::int64_t>();
      p.share = e.at("share").get<double>();
      p.flagged = e.value("flagged", std::int64_t{0});
      p.probes = e.value("probes", std::int64_t{0});
      p.closest = e.value("closest", 0.0);
      points[p.step] = p;
    }
  } catch (const nlohmann::json::exception& error) {
    throw std::runtime_error(path + ": a malformed " + e.value("event", "") + " event at step " +
                             e.value("step", nlohmann::json()).dump() + ": " + error.what());
  }
  if (!curve) return std::nullopt;
  for (const auto& [step, point] : points) curve->points.push_back(point);
  return curve;
}

} // namespace t2i::train
