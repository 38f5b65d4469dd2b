#include "bench/profile.h"

#include "bench/timing.h"
#include "t2i/bench.h"

#include <torch/csrc/autograd/profiler_legacy.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>
#include <vector>

namespace t2i::bench {
namespace {

namespace profiler = torch::autograd::profiler;

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

bool one_of(std::string_view op, const std::set<std::string_view>& names) { return names.count(op) > 0; }

// aten names stripped of "aten::", of the underscores that mark internal variants (_softmax,
// _to_copy) and of the one that marks in-place ones (add_).
std::string_view bare_op(std::string_view name) {
  name.remove_prefix(6);
  while (!name.empty() && name.front() == '_') name.remove_prefix(1);
  while (!name.empty() && name.back() == '_') name.remove_suffix(1);
  return name;
}

std::optional<OpCategory> aten_category(std::string_view op) {
  if (contains(op, "convolution") || contains(op, "conv1d") || contains(op, "conv2d") || contains(op, "conv3d") ||
      op.substr(0, 5) == "conv_")
    return OpCategory::Convolution;
  if (one_of(op, {"mm", "bmm", "addmm", "baddbmm", "addbmm", "addmv", "mv", "dot", "matmul", "matmul_backward",
                  "linear", "linear_backward", "mkldnn_linear", "mkldnn_linear_backward", "einsum"}))
    return OpCategory::Matmul;
  if (contains(op, "group_norm") || contains(op, "layer_norm") || contains(op, "batch_norm") ||
      contains(op, "instance_norm"))
    return OpCategory::Normalisation;
  if (contains(op, "softmax")) return OpCategory::Softmax;
  if (one_of(op, {"to", "to_copy", "copy", "copy_from", "copy_from_and_resize", "contiguous", "clone", "type_as", "cat",
                  "stack", "upsample_nearest2d", "upsample_nearest2d_backward"}))
    return OpCategory::CastCopy;
  if (one_of(op, {"silu", "silu_backward", "gelu", "gelu_backward", "relu", "threshold_backward", "sigmoid",
                  "sigmoid_backward", "tanh", "tanh_backward", "add", "sub", "rsub", "mul", "div", "neg", "exp", "log",
                  "sqrt", "rsqrt", "pow", "sin", "cos", "abs", "sign", "reciprocal", "square", "maximum", "minimum",
                  "clamp", "clamp_min", "clamp_max", "masked_fill", "where", "addcmul", "addcdiv", "lerp", "fill",
                  "zero", "dropout", "native_dropout", "native_dropout_backward", "bernoulli", "mse_loss",
                  "mse_loss_backward", "logical_not", "eq", "ne", "lt", "le", "gt", "ge", "sum", "mean"}))
    return OpCategory::Elementwise;
  return std::nullopt;
}

// The category an operator's self time goes to, given its caller's: everything inside the
// optimizer's or the EMA's scope is theirs; elsewhere an operator's own kind wins over its caller's.
std::optional<OpCategory> attributed(std::optional<OpCategory> caller, std::optional<OpCategory> own) {
  if (caller == OpCategory::Optimizer || caller == OpCategory::Ema) return caller;
  return own ? own : caller;
}

struct OpenRange {
  at::RecordFunctionHandle handle;
  const profiler::LegacyEvent* start;
  std::optional<OpCategory> category;
  double children_us = 0;
};

// One thread's events, in order: ranges nest, each push closed by the pop with its handle.
void add_self_times(const std::vector<profiler::LegacyEvent>& events, std::array<double, kOpCategories.size()>& self_us,
                    std::map<std::pair<std::string, OpCategory>, double>& self_us_by_op, double& ops_us) {
  std::vector<OpenRange> open;
  for (const auto& event : events) {
    if (event.kind() == profiler::EventKind::PushRange) {
      const auto caller = open.empty() ? std::nullopt : open.back().category;
      open.push_back({event.handle(), &event, attributed(caller, op_category(event.name()))});
    } else if (event.kind() == profiler::EventKind::PopRange) {
      const auto match = std::find_if(open.rbegin(), open.rend(),
                                      [&](const OpenRange& range) { return range.handle == event.handle(); });
      if (match == open.rend()) continue;  // opened before the profiler started
      // Ranges still open above it (left without their pop) end with it.
      const size_t depth = static_cast<size_t>(open.rend() - match) - 1;
      while (open.size() > depth) {
        const OpenRange range = open.back();
        open.pop_back();
        const double total_us = range.start->cpuElapsedUs(event);
        const auto category = range.category.value_or(OpCategory::Other);
        const double self = std::max(0.0, total_us - range.children_us);
        self_us[static_cast<size_t>(category)] += self;
        self_us_by_op[{range.start->name(), category}] += self;
        if (open.empty()) ops_us += total_us;
        else open.back().children_us += total_us;
      }
    }
  }
}

// Each category's JSON key and the name its table row shows.
struct CategoryNames {
  OpCategory category;
  const char* key;
  const char* label;
};
constexpr std::array<CategoryNames, kOpCategories.size()> kCategoryNames{{
    {OpCategory::Convolution, "convolution", "convolution"},
    {OpCategory::Matmul, "matmul", "matmul"},
    {OpCategory::Normalisation, "normalisation", "normalisation"},
    {OpCategory::Elementwise, "elementwise", "elementwise/activation"},
    {OpCategory::Softmax, "softmax", "attention softmax"},
    {OpCategory::CastCopy, "casts_copies", "casts and copies"},
    {OpCategory::Optimizer, "optimizer", "optimizer"},
    {OpCategory::Ema, "ema", "EMA"},
    {OpCategory::Other, "other", "other"},
}};

const CategoryNames& names_of(OpCategory category) {
  for (const CategoryNames& names : kCategoryNames)
    if (names.category == category) return names;
  return kCategoryNames.back();
}

const char* label(OpCategory category) { return names_of(category).label; }

std::string row(const std::string& name, const std::vector<double>& values, double share) {
  char cell[32];
  std::string line = name;
  line.resize(24, ' ');
  for (const double value : values) {
    std::snprintf(cell, sizeof cell, "%11.1f", value);
    line += cell;
  }
  if (share >= 0) {
    std::snprintf(cell, sizeof cell, "%7.1f%%", share);
    line += cell;
  }
  return line + "\n";
}

} // namespace

const char* to_string(OpCategory category) { return names_of(category).key; }

std::optional<OpCategory> op_category(std::string_view name) {
  if (name == kOptimizerScope) return OpCategory::Optimizer;
  if (name == kEmaScope) return OpCategory::Ema;
  // The project's own kernels record themselves under aten's names for the same work.
  if (name.substr(0, 5) == "t2i::") return aten_category(name.substr(5));
  if (name.substr(0, 6) != "aten::") return std::nullopt;
  return aten_category(bare_op(name));
}

void CategoryProfiler::run(const std::function<void()>& work) {
  profiler::thread_event_lists events;
  double seconds = 0;
  {
    const profiler::TLSLegacyProfilerGuard guard(
        torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU),
        [&events](const profiler::thread_event_lists& lists) { events = lists; });
    seconds = seconds_of(work);
  }
  for (const auto& thread_events : events) add_self_times(thread_events, self_us_, self_us_by_op_, ops_us_);
  wall_us_ += seconds * 1e6;
  ++runs_;
}

nlohmann::json CategoryProfiler::json(int units_per_run) const {
  const double per_unit_ms = 1e-3 / std::max(1, runs_ * units_per_run);
  nlohmann::json categories = nlohmann::json::object();
  for (const auto category : kOpCategories)
    categories[to_string(category)] = self_us_[static_cast<size_t>(category)] * per_unit_ms;
  std::vector<std::pair<double, const std::pair<std::string, OpCategory>*>> ops;
  for (const auto& [op, us] : self_us_by_op_) ops.emplace_back(us, &op);
  const size_t shown = std::min<size_t>(ops.size(), 12);
  std::partial_sort(ops.begin(), ops.begin() + static_cast<std::ptrdiff_t>(shown), ops.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first; });
  nlohmann::json top = nlohmann::json::array();
  for (size_t i = 0; i < shown; ++i)
    top.push_back({{"name", ops[i].second->first}, {"category", to_string(ops[i].second->second)}, {"ms", ops[i].first * per_unit_ms}});
  return {{"categories", categories},
          {"ops_ms", ops_us_ * per_unit_ms},
          {"wall_ms", wall_us_ * per_unit_ms},
          {"top_operators", top}};
}

std::string profile_table(const std::string& title, const nlohmann::json& profile) {
  // A training step's phases in the order they run (JSON objects come back sorted by name).
  std::vector<std::string> phases;
  for (const char* phase : {"forward", "backward", "step"})
    if (profile.at("phases").contains(phase)) phases.emplace_back(phase);
  for (const auto& [phase, figures] : profile.at("phases").items())
    if (std::find(phases.begin(), phases.end(), phase) == phases.end()) phases.push_back(phase);
  std::string header = "ms per " + profile.at("per").get<std::string>();
  header.resize(24, ' ');
  char cell[32];
  for (const auto& phase : phases) {
    std::snprintf(cell, sizeof cell, "%11s", phase.c_str());
    header += cell;
  }
  header += "      total   share\n";

  const auto figure = [&](const std::string& phase, const char* key) {
    const auto& figures = profile.at("phases").at(phase);
    return figures.contains(key) ? figures.at(key).get<double>() : figures.at("categories").at(key).get<double>();
  };
  const auto values = [&](const char* key) {
    std::vector<double> by_phase;
    double total = 0;
    for (const auto& phase : phases) total += by_phase.emplace_back(figure(phase, key));
    by_phase.push_back(total);
    return by_phase;
  };
  const double ops_total = values("ops_ms").back();
  std::string table = title + "\n" + header;
  for (const auto category : kOpCategories) {
    const auto by_phase = values(to_string(category));
    table += row(label(category), by_phase, ops_total > 0 ? 100.0 * by_phase.back() / ops_total : 0.0);
  }
  table += row("all operators", values("ops_ms"), 100.0);
  table += row("wall, profiler on", values("wall_ms"), -1);
  for (const auto& phase : phases) {
    table += "top operators, " + phase + ":";
    for (const auto& op : profile.at("phases").at(phase).at("top_operators")) {
      std::snprintf(cell, sizeof cell, " %.1f", op.at("ms").get<double>());
      table += std::string(" ") + op.at("name").get<std::string>() + cell + ";";
    }
    table += "\n";
  }
  return table;
}

std::string profile_tables(const std::string& benchmark_json) {
  const auto result = nlohmann::json::parse(benchmark_json);
  const std::string name = result.value("benchmark", "") + " " + result.value("preset", "");
  std::string tables;
  if (result.contains("profile")) tables += profile_table(name, result.at("profile"));
  if (result.contains("modes"))
    for (const auto& [mode, figures] : result.at("modes").items())
      if (figures.contains("profile")) tables += profile_table(name + ", " + mode, figures.at("profile")) + "\n";
  return tables;
}

} // namespace t2i::bench
